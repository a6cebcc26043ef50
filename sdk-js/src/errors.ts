/**
 * Runtime errors, unhandled promise rejections and resource load failures.
 *
 * One capture-phase `error` listener on window sees both kinds of `error` event: runtime
 * errors (an `ErrorEvent` at window) and failed `<img>`, `<script>`, `<link>`, `<video>`…
 * loads, which do not bubble and are only visible while capturing
 * (https://html.spec.whatwg.org/#fire-an-event: resource errors are fired at the element).
 */
import type { ErrorData, ErrorKind } from './contract';
import { cut } from './lib/cut';
import { guard } from './lib/guard';
import { matches } from './lib/matches';
import { scrubText, scrubUrl } from './lib/scrub';
import { parseStack } from './stack';

/** A repeat of the same error within this window is a burst: reported once. */
export const DEDUPE_WINDOW_MS = 5000;
/** At most this many errors per page load: a broken render loop must not flood the queue. */
export const MAX_ERRORS_PER_PAGE = 100;
/** Browsers hide cross-origin script errors behind this message unless the script is
 * loaded with `crossorigin` and served with CORS headers. */
export const CROSS_ORIGIN_MESSAGE = 'Script error.';

/** Contract error data for any thrown value: Error objects keep name, message and frames. */
export const errorData = (thrown: unknown, kind: ErrorKind, handled: boolean): ErrorData => {
  const e = thrown as { name?: unknown; message?: unknown; stack?: unknown } | null;
  if (e && typeof e == 'object' && typeof e.message == 'string') {
    const data: ErrorData = { kind, message: cut(e.message, 8192) || cut(e.name || 'Error', 256), handled };
    if (typeof e.name == 'string') data.type = cut(e.name, 256);
    if (typeof e.stack == 'string') {
      data.stack = scrubText(e.stack.slice(0, 16384));
      data.frames = parseStack(data.stack);
    }
    return data;
  }
  let text: string;
  try {
    text = typeof thrown == 'string' ? thrown : JSON.stringify(thrown);
  } catch {
    text = String(thrown);
  }
  return {
    kind,
    type: kind == 'promise' ? 'UnhandledRejection' : 'Error',
    message: cut('Non-Error ' + (kind == 'promise' ? 'promise rejection: ' : 'exception: ') + text, 8192),
    handled,
  };
};

const fromErrorEvent = (e: ErrorEvent): ErrorData => {
  const data = e.error != null ? errorData(e.error, 'js', false) : { kind: 'js' as const, message: cut(e.message || CROSS_ORIGIN_MESSAGE, 8192), handled: false };
  if (e.filename) data.source = scrubUrl(e.filename);
  if (e.lineno) data.lineno = e.lineno;
  if (e.colno) data.colno = e.colno;
  // All opaque cross-origin errors look alike; group them as one.
  if (data.message == CROSS_ORIGIN_MESSAGE && !data.frames) data.fingerprint = ['cross-origin-script-error'];
  return data;
};

const fromResourceError = (el: Element, src?: string): ErrorData | undefined => {
  const url = src || (el as HTMLImageElement).currentSrc || (el as HTMLImageElement).src || (el as HTMLLinkElement).href;
  if (!url) return;
  const tag = el.tagName.toLowerCase();
  return { kind: 'resource', message: 'Failed to load ' + tag, source: scrubUrl(url), element: tag };
};

/**
 * An event the loader snippet (loader.ts) saw before the SDK arrived: the event, when it
 * happened (ms since the epoch), the page's URL then and the failed resource's URL then.
 */
export type Buffered = [event: Event, at: number, href: string, src?: string];
export type Handler = (e: Event, at?: number, href?: string, src?: string) => void;

/** The started SDK's handler: global.ts feeds it the loader's buffered events. */
export let handleError: Handler | undefined;

/** Report every uncaught error, unhandled rejection and failed resource load. */
export const onErrors = (report: (data: ErrorData, at?: number, href?: string) => void): void => {
  const handle: Handler = guard((e: Event, at?: number, href?: string, src?: string) => {
    const target = e.target as Element | null;
    const data =
      e.type == 'unhandledrejection'
        ? errorData((e as PromiseRejectionEvent).reason, 'promise', false)
        : target && target.tagName
          ? fromResourceError(target, src)
          : fromErrorEvent(e as ErrorEvent);
    if (data) report(data, at, href);
  });
  addEventListener('error', handle, true);
  addEventListener('unhandledrejection', handle);
  handleError = handle;
};

export interface ErrorFilterOptions {
  ignoreErrors: (string | RegExp)[];
  denyUrls: (string | RegExp)[];
}

/**
 * Whether an error should be sent: not matched by `ignoreErrors` (message) or `denyUrls`
 * (script, resource or request URL), not a repeat within {@link DEDUPE_WINDOW_MS}, and
 * under {@link MAX_ERRORS_PER_PAGE}.
 */
export const createErrorFilter = (o: ErrorFilterOptions) => {
  const lastSent: Record<string, number> = {};
  let sent = 0;
  return (d: ErrorData): boolean => {
    const frame = d.frames && d.frames[0];
    const url = d.source || (frame && frame.filename) || (d.request && d.request.url);
    if (matches(d.message, o.ignoreErrors) || matches(url, o.denyUrls)) return false;
    const key = [d.kind, d.type, d.message, url, frame && frame.lineno, frame && frame.colno].join('|');
    const now = Date.now();
    if (now - lastSent[key] < DEDUPE_WINDOW_MS || sent >= MAX_ERRORS_PER_PAGE) return false;
    lastSent[key] = now;
    sent++;
    return true;
  };
};
