/**
 * The page's own API calls, from wrapped `fetch` and `XMLHttpRequest`: method, URL (secrets
 * stripped), status, duration, and how it failed: `status` (≥ 400), `network`, `timeout`
 * or `abort`. The wrappers change nothing the page sees: same arguments, same result,
 * same exceptions; the recording is guarded and runs beside them.
 */
import type { ApiCallData, ApiFailure } from './contract';
import { guard } from './lib/guard';
import { ms } from './lib/ms';
import { scrubUrl } from './lib/scrub';

type Report = (call: ApiCallData) => void;

const absolute = (url: string): string => {
  try {
    return new URL(url, location.href).href;
  } catch {
    return url;
  }
};

const call = (method: string, url: string, start: number, status: number, failure?: ApiFailure): ApiCallData => {
  const data: ApiCallData = {
    method: method.toUpperCase().slice(0, 16),
    // The fragment never reaches the server; drop it with whatever it holds.
    url: scrubUrl(url.replace(/#.*/, '')),
    status,
    duration: ms(performance.now() - start),
    ok: !failure,
  };
  if (failure) data.failure = failure;
  return data;
};

const fetchFailure = (e: unknown): ApiFailure => {
  const name = e && (e as Error).name;
  return name == 'AbortError' ? 'abort' : name == 'TimeoutError' ? 'timeout' : 'network';
};

/** Report every fetch/XHR call except those for which `ignore(url)` is true (the collector). */
export const onApiCalls = (report: Report, ignore: (url: string) => boolean): void => {
  const originalFetch = typeof fetch == 'function' ? fetch : undefined;
  if (originalFetch) {
    const begin = guard((input: RequestInfo | URL, init?: RequestInit) => {
      const url = absolute(typeof input == 'string' ? input : (input as Request).url || String(input));
      if (ignore(url)) return;
      const method = (init && init.method) || (input as Request).method || 'GET';
      const start = performance.now();
      return guard((status: number, failure?: ApiFailure) => report(call(method, url, start, status, failure)));
    });
    window.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      const done = begin(input, init);
      // eslint-disable-next-line prefer-rest-params
      const response = originalFetch.apply(this, arguments as unknown as [RequestInfo, RequestInit]);
      return done
        ? response.then(
            (r) => {
              done(r.status, r.status >= 400 ? 'status' : undefined);
              return r;
            },
            (e) => {
              done(0, fetchFailure(e));
              throw e;
            },
          )
        : response;
    };
  }

  if (typeof XMLHttpRequest != 'function') return;
  const proto = XMLHttpRequest.prototype;
  const { open, send } = proto;
  const requests = new WeakMap<XMLHttpRequest, [string, string]>();
  const remember = guard((xhr: XMLHttpRequest, method: string, url: string | URL) =>
    requests.set(xhr, [String(method), absolute(String(url))]),
  );
  const watch = guard((xhr: XMLHttpRequest) => {
    const request = requests.get(xhr);
    if (!request || ignore(request[1])) return;
    const start = performance.now();
    let failure: ApiFailure | undefined;
    const failed = (f: ApiFailure) => () => (failure = f);
    xhr.addEventListener('error', failed('network'));
    xhr.addEventListener('timeout', failed('timeout'));
    xhr.addEventListener('abort', failed('abort'));
    xhr.addEventListener(
      'loadend',
      guard(() => report(call(request[0], request[1], start, xhr.status, failure || (xhr.status >= 400 ? 'status' : undefined)))),
    );
  });
  proto.open = function (this: XMLHttpRequest, method: string, url: string | URL) {
    remember(this, method, url);
    // eslint-disable-next-line prefer-rest-params
    return open.apply(this, arguments as unknown as Parameters<typeof open>);
  } as typeof open;
  proto.send = function (this: XMLHttpRequest) {
    watch(this);
    // eslint-disable-next-line prefer-rest-params
    return send.apply(this, arguments as unknown as Parameters<typeof send>);
  };
};
