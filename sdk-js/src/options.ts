/**
 * What `init()` accepts, and the defaults. docs/sdk.md documents every option; keep the
 * two in step.
 */
import type { EventType, VigilEvent } from './contract';
import type { TransportName } from './transport';

export interface Options {
  /** Collector base URL, e.g. `https://vigil.example.com`. Required. */
  endpoint: string;
  /** Project id as configured on the collector. Required. */
  projectId: string;
  /** Project key (public: it only allows sending events for this project). Required. */
  key: string;
  /** Your app's version, e.g. `shop@2.4.1`; source maps are matched by it. */
  release?: string;
  /** Default `production`. */
  environment?: string;
  /** `auto`: fetch with keepalive, sendBeacon when the page is hidden, an image pixel when neither exists. */
  transport?: TransportName;
  /** Store nothing on the device: visitor and session ids live for one page load. */
  cookieless?: boolean;
  /** `false` to hold every event in memory until `setConsent(true)` (dropped on `setConsent(false)`). */
  consent?: boolean;
  /** Fraction (0–1) of page loads that send each event type; default 1 for every type. */
  sampleRates?: Partial<Record<EventType, number>>;
  /** Change or drop (return null) each event before it is queued. */
  beforeSend?: (event: VigilEvent) => VigilEvent | null | undefined | false;
  /** Errors whose message contains a string or matches a RegExp are not sent. */
  ignoreErrors?: (string | RegExp)[];
  /** Errors whose script, resource or request URL contains/matches one of these are not sent. */
  denyUrls?: (string | RegExp)[];
  /** Breadcrumbs kept and attached to each error. Default 30 (max 100). */
  maxBreadcrumbs?: number;
  /** Slowest resources reported per page load. Default 10; 0 turns resource timing off. */
  maxResources?: number;
  /** Events per request. Default 20. */
  batchSize?: number;
  /** Milliseconds a batch waits for more events. Default 5000. */
  flushInterval?: number;
  /** Events kept in memory while the collector is unreachable. Default 500. */
  maxQueue?: number;
  /** Unsent events kept in localStorage for the next page load. Default 100. */
  maxStored?: number;
  /** Session inactivity timeout in ms. Default 30 minutes. */
  sessionTimeout?: number;
  /** A new `#hash` alone is a page view (the site routes by hash). Default false. */
  hashRouting?: boolean;
  /** Automatic collection switches, each default true. */
  vitals?: boolean;
  errors?: boolean;
  api?: boolean;
  pageViews?: boolean;
  clicks?: boolean;
  forms?: boolean;
  console?: boolean;
  /** Log what the SDK does and swallows to the console. Default false. */
  debug?: boolean;
}

export type ResolvedOptions = Required<Omit<Options, 'release' | 'beforeSend'>> & Pick<Options, 'release' | 'beforeSend'>;

export const DEFAULTS = {
  environment: 'production',
  transport: 'auto' as TransportName,
  cookieless: false,
  consent: true,
  sampleRates: {},
  ignoreErrors: [],
  denyUrls: [],
  maxBreadcrumbs: 30,
  maxResources: 10,
  batchSize: 20,
  flushInterval: 5000,
  maxQueue: 500,
  maxStored: 100,
  sessionTimeout: 30 * 60 * 1000,
  hashRouting: false,
  vitals: true,
  errors: true,
  api: true,
  pageViews: true,
  clicks: true,
  forms: true,
  console: true,
  debug: false,
};

/** Defaults filled in; throws a message that says what to fix when a required option is missing. */
export const resolveOptions = (o: Options): ResolvedOptions => {
  const missing = ['endpoint', 'projectId', 'key'].filter((k) => !o || !o[k as keyof Options]);
  if (missing.length) throw new Error('Vigil.init: missing ' + missing.join(', ') + ' (see docs/sdk.md)');
  const given = o as unknown as Record<string, unknown>;
  const resolved = { ...DEFAULTS } as unknown as Record<string, unknown> & ResolvedOptions;
  for (const k in given) if (given[k] !== undefined) resolved[k] = given[k];
  resolved.maxBreadcrumbs = Math.min(resolved.maxBreadcrumbs, 100);
  resolved.batchSize = Math.max(1, Math.min(resolved.batchSize, 1000));
  return resolved;
};
