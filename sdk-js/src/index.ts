/**
 * Vigil browser SDK: `init()` wires the collectors (vitals, navigation, resources, errors,
 * api, track) to one event pipeline — sample → build → beforeSend → consent → queue — and
 * the public API feeds the same pipeline. Each collector starts under its own guard, so
 * one failing (an unsupported API, a hostile page) leaves the others running.
 */
import { onApiCalls } from './api';
import { createBreadcrumbs, onConsole, type Breadcrumbs } from './breadcrumbs';
import type { ApiCallData, BreadcrumbLevel, ErrorData, EventDataByType, EventType, Page, TagValue, Tags, VigilEvent } from './contract';
import { createErrorFilter, errorData, onErrors } from './errors';
import { cut } from './lib/cut';
import { guard } from './lib/guard';
import { complain, setDebug, warn } from './lib/log';
import { isoNow } from './lib/now';
import { onHidden } from './lib/onHidden';
import { scrubUrl } from './lib/scrub';
import { localStore, type Store } from './lib/storage';
import { uid } from './lib/uid';
import { onNavigation } from './navigation';
import { resolveOptions, type Options, type ResolvedOptions } from './options';
import { createQueue, type Queue } from './queue';
import { onResources } from './resources';
import { createSession, type Session } from './session';
import { onClicks, onFormSubmits, onPageViews } from './track';
import { createTransport } from './transport';
import { onVitals } from './vitals';

export type * from './contract';
export type { Options } from './options';

export const SDK = { name: 'vigil-browser', version: __VIGIL_VERSION__ };
const USER_KEY = 'vigil.uid';
// Set on window so a second copy of the bundle on the same page does not start twice.
const STARTED_FLAG = '__vigil__';
const MAX_HELD = 200;
const MAX_TAGS = 50;

let o: ResolvedOptions | undefined;
let session: Session;
let queue: Queue | undefined; // set by connect(), one task after init()
let crumbs: Breadcrumbs;
let keepError: (data: ErrorData) => boolean;
let store: Store | undefined;
let userId: string | undefined;
let consent = true;
let held: VigilEvent[] = []; // waiting for consent
const early: VigilEvent[] = []; // waiting for connect()
let flushWanted = false;
let connect: () => void = () => undefined;
const tags: Tags = {};
const sampled: Record<string, boolean> = {};

const inSample = (type: EventType) => {
  if (!(type in sampled)) {
    const rate = o!.sampleRates[type];
    sampled[type] = rate == null || Math.random() < rate;
  }
  return sampled[type];
};

const bounded = (list: VigilEvent[], event: VigilEvent) => {
  if (list.push(event) > MAX_HELD) list.shift();
};

/** An event enters the queue: session and stored user attached, held back without consent. */
const deliver = (event: VigilEvent) => {
  if (!queue) return bounded(early, event);
  event.session_id = session.sessionId();
  if (userId && !event.user_id) event.user_id = userId;
  if (consent) queue.push(event);
  else bounded(held, event);
};

/**
 * The page views so far, [performance.now(), page URL] each (the first at 0, the landing page;
 * at most MAX_VISITS, the oldest SPA views dropped first): a Web Vital finalised when the page
 * is hidden names the URL shown when its blamed entry happened, not the one shown at the end.
 */
const visits: [number, string][] = [];
/** Each Web Vital's first report, by web-vitals' metric id: [event_id, ms since the epoch]. */
const reported: Record<string, [string, number]> = {};
const MAX_VISITS = 100;
const urlAt = (t: number): string | undefined => {
  let url: string | undefined;
  for (const [since, u] of visits) if (since <= t) url = u;
  return url;
};

/**
 * `at`: when it happened (ms since the epoch) if not now, e.g. an error the loader snippet held;
 * `id`: the event's id if it replaces one sent before (a Web Vital reported again).
 */
const emit = <T extends EventType>(type: T, data: EventDataByType[T], page?: Page, at?: number, id?: string): void => {
  if (!o || !inSample(type)) return;
  let event: VigilEvent | null | undefined | false = {
    event_id: id || uid(),
    type,
    timestamp: isoNow(at),
    page: page || { url: scrubUrl(location.href) },
    data,
  };
  if (userId) event.user_id = userId;
  if (Object.keys(tags).length) event.tags = { ...tags };
  if (o.beforeSend) {
    try {
      event = o.beforeSend(event);
    } catch (e) {
      warn('beforeSend threw; event kept unchanged', e);
    }
    if (!event) return;
  }
  deliver(event);
};

const reportError = (data: ErrorData, at?: number, href?: string) => {
  if (!keepError(data)) return;
  data.breadcrumbs = crumbs.all();
  emit('error', data, href ? { url: scrubUrl(href) } : undefined, at);
};

const path = (url?: string) => (url || '').replace(location.origin, '');

const FAILURE_TYPES = { status: 'HttpError', network: 'NetworkError', timeout: 'TimeoutError', abort: 'AbortError' };

const reportApiCall = (call: ApiCallData) => {
  const summary = call.method + ' ' + path(call.url).split('?')[0] + ' → ' + (call.status || call.failure);
  crumbs.add('http', summary, call.ok ? 'info' : 'error');
  emit('api_call', call);
  if (call.failure) reportError({ kind: 'api', type: FAILURE_TYPES[call.failure], message: summary, request: call });
};

/**
 * Start the SDK. Safe to call more than once (later calls are ignored) and never throws.
 *
 * The work is split so that no task is long (the 5 ms budget): init() itself only
 * installs the hooks that must catch what happens next (errors, fetch/XHR, console,
 * clicks, submits); storage, the session and the queue follow in the next task, page views
 * (the first one and the history hooks) in the one after, then Web Vitals and timings
 * (their observers are buffered: nothing is lost).
 */
export const init = guard((options: Options): void => {
  if (o || (window as unknown as Record<string, unknown>)[STARTED_FLAG]) return warn('init called again; ignored');
  let opts: ResolvedOptions;
  try {
    opts = resolveOptions(options);
  } catch (e) {
    return complain((e as Error).message);
  }
  (window as unknown as Record<string, unknown>)[STARTED_FLAG] = true;
  setDebug(opts.debug);
  consent = opts.consent;
  // Neither is needed to send events: if one fails, errors go without breadcrumbs or filter.
  crumbs = guard(createBreadcrumbs)(opts.maxBreadcrumbs) || { add() {}, all: () => [] };
  keepError = guard(createErrorFilter)(opts) || (() => true);
  const collector = new URL(opts.endpoint, location.href).href.replace(/\/+$/, '');
  // The SDK's own requests: not the page's API calls, not its resources.
  const isCollector = (url: string) => url.indexOf(collector + '/api/' + encodeURIComponent(opts.projectId) + '/') == 0;
  o = opts;

  const start = <R>(enabled: boolean, begin: () => R) => (enabled && guard(begin)()) || undefined;
  start(opts.console, () => onConsole((level, message) => crumbs.add('console', message, level)));
  start(opts.errors, () => onErrors(reportError));
  start(opts.api, () => onApiCalls(reportApiCall, isCollector));
  start(opts.clicks, () =>
    onClicks((data) => {
      crumbs.add('ui.click', data.selector || '');
      emit('click', data);
    }),
  );
  start(opts.forms, () =>
    onFormSubmits((data) => {
      crumbs.add('ui.submit', data.form_id || data.form_name || data.action || '');
      emit('form_submit', data);
    }),
  );
  let reportTimeOnPage: (() => void) | undefined;
  let reportResources: (() => void) | undefined;

  connect = guard(() => {
    if (queue) return;
    store = opts.cookieless || !consent ? undefined : localStore;
    userId = userId || (store && store.get(USER_KEY)) || undefined;
    if (store && userId) store.set(USER_KEY, userId);
    session = createSession(store, opts.sessionTimeout);
    queue = createQueue(
      createTransport({ ...opts, endpoint: collector }),
      SDK,
      () => {
        const context: Record<string, string> = { visitor_id: session.visitorId, environment: opts.environment };
        if (opts.release) context.release = opts.release;
        return context;
      },
      opts,
      store,
    );
    early.splice(0).forEach(deliver);
    if (flushWanted) queue.flush();
    // One task each: page views (the first one and the history hooks), then Web Vitals and timings.
    setTimeout(() => {
      reportTimeOnPage = start(opts.pageViews, () =>
        onPageViews((type, data, page) => {
          if ((data as { navigation_type?: string }).navigation_type == 'spa') crumbs.add('navigation', path(page.referrer) + ' → ' + path(page.url));
          // the first view's URL holds from the navigation's start (time 0)
          if (type == 'page_view' && page.url) {
            visits.push([visits.length ? performance.now() : 0, page.url]);
            if (visits.length > MAX_VISITS) visits.splice(1, 1);
          }
          emit(type, data as never, page);
        }, opts.hashRouting),
      );
      setTimeout(() => {
        start(opts.vitals, () =>
          onVitals((data, at) => {
            const url = at != null && urlAt(at);
            // CLS and INP are reported again when a page hidden before is hidden with a new value:
            // the new row keeps the first's event_id and timestamp, so it replaces it in the
            // warehouse (the last row inserted wins) and a measurement counts once
            const first = (reported[data.metric_id!] ||= [uid(), Date.now()]);
            emit('web_vital', data, url ? { url } : undefined, first[1], first[0]);
          }),
        );
        start(opts.vitals, () => onNavigation((data) => emit('web_vital', data)));
        reportResources = start(opts.maxResources > 0, () => onResources((data) => emit('resource', data), opts.maxResources, isCollector));
      }, 0);
    }, 0);
  }) as () => void;
  setTimeout(connect, 0);

  // Last words of a page: pending time on page and resources first, then everything goes.
  onHidden(
    guard((event: Event) => {
      connect();
      if (reportTimeOnPage) guard(reportTimeOnPage)();
      if (reportResources) guard(reportResources)();
      // Only a real `pagehide` says whether the page is kept (bfcache) or gone.
      queue!.flushHidden((event as PageTransitionEvent).persisted === false);
    }),
  );
});

/** A custom event, e.g. `track('coupon_applied', { code: 'SPRING' })`. */
export const track = guard((name: string, props?: Record<string, unknown>): void => {
  const data: EventDataByType['custom'] = { name: cut(name, 200) };
  if (props) data.props = props;
  emit('custom', data);
});

/** Attach a user id to this and later events (kept across page loads unless cookieless). */
export const identify = guard((id: string, traits?: Record<string, unknown>): void => {
  userId = cut(id, 256) || undefined;
  if (!userId) return;
  if (store) store.set(USER_KEY, userId);
  const data: EventDataByType['identify'] = { user_id: userId };
  if (traits) data.traits = traits;
  emit('identify', data);
});

/** A tag on every later event, e.g. `setTag('plan', 'pro')`; `null` removes it. */
export const setTag = guard((key: string, value: TagValue | null | undefined): void => {
  key = cut(key, 64);
  if (value == null) delete tags[key];
  else if (key in tags || Object.keys(tags).length < MAX_TAGS) tags[key] = typeof value == 'string' ? cut(value, 200) : value;
});

/** Report a caught error (`handled: true`) with its stack and the breadcrumbs. */
export const captureException = guard((error: unknown): void => {
  if (o) reportError(errorData(error, 'js', true));
});

/** Report a message as an error event of type `Message`. */
export const captureMessage = guard((message: string): void => {
  if (o) reportError({ kind: 'js', type: 'Message', message: cut(message, 8192), handled: true });
});

/** Add your own breadcrumb to the trail attached to errors. */
export const addBreadcrumb = guard((category: string, message: string, level?: BreadcrumbLevel): void => {
  if (o) crumbs.add(category, message, level);
});

/**
 * Grant or withdraw consent. Granting sends what was held and (unless cookieless) starts
 * storing ids; withdrawing drops held events and removes everything the SDK stored.
 */
export const setConsent = guard((granted: boolean): void => {
  consent = granted;
  if (!o || !queue) return; // connect() reads `consent`
  store = granted && !o.cookieless ? localStore : undefined;
  if (store) {
    session.persist(store);
    if (userId) store.set(USER_KEY, userId);
  } else {
    session.clear();
    localStore.del(USER_KEY);
  }
  queue.setStore(store);
  const release = held;
  held = [];
  if (granted) release.forEach(queue.push);
});

/** Send queued events now. */
export const flush = guard((): void => {
  if (queue) queue.flush();
  else flushWanted = true;
});
