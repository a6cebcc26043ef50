/**
 * The inline loader snippet (built into dist/loader.min.js, at most 1 KB minified): the
 * first script in <head>, carrying the script tag's data- attributes plus `data-src`, the
 * SDK's URL. From the page's first line it
 * - buffers `error` events — runtime errors and, while capturing, the resource load failures
 *   that do not bubble — and `unhandledrejection` events, each with when it happened, the
 *   page's URL then and the failed resource's URL then (bounded: an SDK blocked from loading
 *   must not make the page hold events forever);
 * - stubs the API (`Vigil.track(…)` before the SDK arrives is queued, as docs/sdk.md's stub does);
 * - injects the async SDK script with the same data- attributes (and the CSP nonce).
 * The SDK (global.ts) calls `Vigil.d` with its own error handler once that is listening: these
 * listeners go and the held events are replayed through the SDK's handler.
 */
import type { Buffered, Handler } from './errors';

const MAX_BUFFERED = 100;
interface Stub {
  q: [string, IArguments][];
  /** Called by the SDK once its own listeners are on: ours go, and what we held is handed over. */
  d: (handle?: Handler) => void;
  SDK?: unknown;
  [method: string]: unknown;
}

const w = window as unknown as { Vigil?: Stub };
const me = document.currentScript as HTMLScriptElement;
const V = (w.Vigil = w.Vigil || ({ q: [] } as unknown as Stub));
if (!V.SDK) {
  const held: Buffered[] = [];
  const hold = (event: Event) => {
    const t = event.target as HTMLImageElement & HTMLLinkElement;
    if (held.length < MAX_BUFFERED) held.push([event, Date.now(), location.href, t.currentSrc || t.src || t.href]);
  };
  addEventListener('error', hold, true);
  addEventListener('unhandledrejection', hold);
  V.d = (handle) => {
    removeEventListener('error', hold, true);
    removeEventListener('unhandledrejection', hold);
    held.splice(0).forEach((b) => handle && handle(...b));
  };
  'init track identify setTag captureException captureMessage addBreadcrumb setConsent flush'.split(' ').forEach((m) => {
    V[m] = V[m] || function () {
      // eslint-disable-next-line prefer-rest-params -- the SDK replays `arguments` as the docs' stub queues them
      V.q.push([m, arguments]);
    };
  });
  const s = document.createElement('script');
  for (const a of me.attributes) if (!a.name.indexOf('data-')) s.setAttribute(a.name, a.value);
  s.src = me.dataset.src!;
  s.async = true;
  s.nonce = me.nonce;
  me.after(s);
}
