/**
 * The Vigil event contract, version 1, as TypeScript types.
 *
 * Source of truth: `contract/schema/v1/envelope.schema.json` and `event.schema.json`.
 * `test/contract.test.ts` keeps these declarations and the schema in step (every `$defs`
 * object below has an interface with the same properties, every enum the same members) and
 * validates SDK-built envelopes and the shared vectors against the schema with ajv.
 * Types only: this file adds nothing to the bundle.
 */

/** `$defs/id`: 8–64 characters of `[A-Za-z0-9_-]`. */
export type Id = string;

export type EventType =
  | 'page_view'
  | 'web_vital'
  | 'resource'
  | 'error'
  | 'api_call'
  | 'click'
  | 'form_submit'
  | 'time_on_page'
  | 'custom'
  | 'identify';

export type TagValue = string | number | boolean;
/** `$defs/tags`: at most 50, names ≤ 64 characters, string values ≤ 200. */
export type Tags = Record<string, TagValue>;

export interface Sdk {
  name: string;
  version: string;
}

export interface Page {
  url?: string;
  referrer?: string;
  title?: string;
}

export type NavigationType = 'navigate' | 'reload' | 'back_forward' | 'prerender' | 'spa' | 'restore';

export interface PageViewData {
  navigation_type?: NavigationType;
}

export type VitalName = 'FCP' | 'LCP' | 'CLS' | 'INP' | 'TTFB' | 'LOAD' | 'TTI';
export type Rating = 'good' | 'needs-improvement' | 'poor';

export interface VitalAttribution {
  /** CSS selector of the LCP element, the largest layout shift's source or the INP target. */
  target?: string;
  /** INP only: `pointer` or `keyboard`. */
  interaction_type?: string;
  /** LCP only: the image URL when the LCP element is an image. */
  url?: string;
}

/** Navigation timing phases in ms, sent with LOAD. */
export type NavigationBreakdown = Record<string, number>;

export interface WebVitalData {
  name: VitalName;
  value: number;
  /** Sent by earlier builds only, still accepted: the processor rates every vital (`contract/vitals.json`). */
  rating?: Rating;
  navigation_type?: string;
  metric_id?: string;
  attribution?: VitalAttribution;
  breakdown?: NavigationBreakdown;
}

export interface ResourceData {
  name: string;
  initiator_type?: string;
  duration: number;
  transfer_size?: number;
}

export interface Frame {
  filename?: string;
  function?: string;
  lineno?: number;
  colno?: number;
  in_app?: boolean;
}

export type BreadcrumbLevel = 'debug' | 'info' | 'warning' | 'error' | 'fatal';

export interface Breadcrumb {
  category: string;
  message?: string;
  level?: BreadcrumbLevel;
  timestamp: string;
  data?: Record<string, unknown>;
}

/** `backend`: a server's error, sent by a Sentry SDK (the collector maps it); this SDK never sends it. */
export type ErrorKind = 'js' | 'promise' | 'resource' | 'api' | 'backend';

export interface ErrorData {
  kind: ErrorKind;
  type?: string;
  message: string;
  source?: string;
  lineno?: number;
  colno?: number;
  stack?: string;
  frames?: Frame[];
  handled?: boolean;
  fingerprint?: string[];
  breadcrumbs?: Breadcrumb[];
  element?: string;
  request?: ApiCallData;
  /** The rest are filled by the collector for Sentry SDKs' errors; this SDK sends none. */
  platform?: string;
  level?: BreadcrumbLevel;
  logger?: string;
  server_name?: string;
  transaction?: string;
  runtime?: string;
  os?: string;
  /** Every exception of a chain, the first cause first, the raised one (this error) last. */
  exceptions?: ExceptionData[];
}

export interface ExceptionData {
  type: string;
  message: string;
  module?: string;
  /** Innermost call first. */
  frames?: Frame[];
  mechanism?: {
    type?: string;
    source?: string;
    handled?: boolean;
    exception_id?: number;
    parent_id?: number;
    is_exception_group?: boolean;
  };
}

export type ApiFailure = 'status' | 'network' | 'timeout' | 'abort';

export interface ApiCallData {
  method: string;
  url: string;
  /** 0 when no response arrived (network error, timeout, abort). */
  status?: number;
  duration?: number;
  ok?: boolean;
  failure?: ApiFailure;
}

export interface ClickData {
  selector?: string;
  element_id?: string;
  text?: string;
  /** A link's URL (secrets filtered); only the scheme (`mailto:`) when it is not http(s). */
  href?: string;
  x?: number;
  y?: number;
  attributes?: Tags;
}

export interface FormSubmitData {
  form_id?: string;
  form_name?: string;
  action?: string;
  method?: string;
}

export interface TimeOnPageData {
  /** Visible time on the page in ms since the previous time_on_page report of that page. */
  duration: number;
}

export interface CustomData {
  name: string;
  props?: Record<string, unknown>;
}

export interface IdentifyData {
  user_id: string;
  traits?: Record<string, unknown>;
}

export interface EventDataByType {
  page_view: PageViewData;
  web_vital: WebVitalData;
  resource: ResourceData;
  error: ErrorData;
  api_call: ApiCallData;
  click: ClickData;
  form_submit: FormSubmitData;
  time_on_page: TimeOnPageData;
  custom: CustomData;
  identify: IdentifyData;
}

/** One event as the SDK queues it; after the collector's context merge it must satisfy event.schema.json. */
export interface VigilEvent<T extends EventType = EventType> {
  event_id: Id;
  type: T;
  timestamp: string;
  session_id?: Id;
  visitor_id?: Id;
  user_id?: string;
  release?: string;
  environment?: string;
  page?: Page;
  tags?: Tags;
  sdk?: Sdk;
  data?: EventDataByType[T];
}

/** Fields every event of a batch shares unless it sets its own. */
export interface EnvelopeContext {
  session_id?: Id;
  visitor_id?: Id;
  user_id?: string;
  release?: string;
  environment?: string;
  page?: Page;
  tags?: Tags;
}

export interface Envelope {
  version: 1;
  sdk: Sdk;
  context?: EnvelopeContext;
  events: VigilEvent[];
}

/** The collector's 202 answer. */
export interface CollectorAnswer {
  accepted: number;
  rejected?: { index: number; reason: string }[];
}
