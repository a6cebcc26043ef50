/**
 * The script-tag build (`dist/vigil.min.js`): puts the API on `window.Vigil`.
 *
 * Starts itself from the tag's data attributes:
 *   <script async src="vigil.min.js" data-endpoint="https://vigil.example.com"
 *           data-project-id="shop" data-key="pk_…" data-release="shop@2.4.1"></script>
 * (the flags `data-cookieless`, `data-hash-routing`, `data-debug`: present = on) and replays
 * the calls a page made before the async script arrived through the stub
 * `window.Vigil = { q: [["init", [{…}]], ["track", ["signup"]]] }` (docs/sdk.md has the snippet).
 * After the loader snippet (loader.ts) it takes over the errors the snippet held: the
 * snippet's listeners go, and each held event goes through the SDK's own handler.
 */
import {
  SDK,
  addBreadcrumb,
  captureException,
  captureMessage,
  flush,
  identify,
  init,
  setConsent,
  setTag,
  track,
} from './index';
import { handleError, type Handler } from './errors';
import type { Options } from './options';
import { guard } from './lib/guard';

const api = { SDK, init, track, identify, setTag, captureException, captureMessage, addBreadcrumb, setConsent, flush };
type Stub = { q?: [keyof typeof api, ArrayLike<unknown>][]; d?: (handle?: Handler) => void };

guard(() => {
  const w = window as unknown as { Vigil?: Stub | typeof api };
  const stub = w.Vigil as Stub | undefined;
  // A second copy of the bundle on the page leaves the first one's API in place.
  if (stub && (stub as typeof api).SDK) return;
  w.Vigil = api;
  const script = document.currentScript as HTMLScriptElement | null;
  const d = script && script.dataset;
  if (d && d.projectId) {
    // The data attributes named in docs/sdk.md: values as given, flags on when present.
    const o: Record<string, unknown> = {};
    for (const k of ['endpoint', 'projectId', 'key', 'release', 'environment', 'transport']) o[k] = d[k];
    for (const k of ['cookieless', 'hashRouting', 'debug']) o[k] = d[k] != null;
    init(o as unknown as Options);
  }
  if (stub && stub.q)
    stub.q.forEach(([method, args]) => {
      const fn = api[method] as (...a: unknown[]) => void;
      if (typeof fn == 'function') fn(...Array.prototype.slice.call(args));
    });
  if (stub && stub.d) stub.d(handleError);
})();
