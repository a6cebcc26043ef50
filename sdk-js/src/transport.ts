/**
 * Getting an envelope to the collector.
 *
 * `send` is for a live page and tells the queue what happened (an {@link Outcome}):
 * {@link DELIVERED} (taken, or refused for good with a 4xx: resending cannot fix it), or a
 * {@link Retry}: how long to wait (the collector's `Retry-After`) and what the failure costs
 * the batch's attempts — nothing for a busy collector (429, 503 with `Retry-After`), a whole
 * attempt for one that failed on it (5xx, the collector's own `internal_error`), a quarter
 * for no answer at all (network error, 502/504 from a gateway): that says little about the
 * batch; a 413 costs a whole round, so the batch is halved at once.
 * `sendNow` is for a page being hidden or closed: `navigator.sendBeacon` survives unload
 * and reports only whether the browser took the data.
 *
 * Bodies go as `text/plain` with the key in the query string, so a cross-origin POST is a
 * CORS "simple request" and needs no preflight.
 */
import { warn } from './lib/log';

/** The envelope was taken (or refused for good): do not resend it. */
export const DELIVERED = -1;
/** Resend after `wait` ms; `cost` is what this failure takes from the batch's attempts. */
export type Retry = [wait: number, cost: number];
export type Outcome = typeof DELIVERED | Retry;
/** What a failure costs: the collector failed on the batch / nothing came back. */
export const FAILED = 1;
export const NO_ANSWER = 0.25;
/** Failed attempts at each batch size before the queue halves the batch (or drops its lone event). */
export const ATTEMPTS = 3;
const noAnswer: Retry = [0, NO_ANSWER];
const failed: Retry = [0, FAILED];
// Pixel GETs carry the envelope in the URL; keep them well under common URL limits.
const PIXEL_LIMIT = 2000;
const BODY_LIMIT = 60000; // fetch keepalive and sendBeacon both cap in-flight bodies at 64 KiB
const WS_REPLY_TIMEOUT_MS = 10000;

export type TransportName = 'auto' | 'fetch' | 'beacon' | 'pixel' | 'websocket';

export interface TransportOptions {
  endpoint: string;
  projectId: string;
  key: string;
  transport: TransportName;
}

export interface Transport {
  /** Largest envelope (characters of JSON) this transport should be given. */
  limit: number;
  send(body: string): Promise<Outcome>;
  sendNow(body: string): boolean;
}

/** `Retry-After` (delta-seconds or an HTTP date) in ms; 0 when absent or unreadable. */
export const retryAfterMs = (header: string | null | undefined): number => {
  if (!header) return 0;
  const seconds = +header;
  const ms = seconds >= 0 ? seconds * 1000 : Date.parse(header) - Date.now();
  return ms > 0 ? ms : 0;
};

/**
 * What the collector's answer means for the batch: its status, `Retry-After` in ms, and its
 * body (for the reason). A 503 that names `internal_error` is the collector failing on this
 * batch, not a busy collector, whatever its `Retry-After` says.
 */
export const judge = (status: number, wait: number, body: string): Outcome => {
  if (status < 300) return DELIVERED;
  if (status == 429 || (status == 503 && wait && body.indexOf('"internal_error"') < 0)) return [wait, 0];
  if (status >= 500) return [wait, status == 502 || status == 504 ? NO_ANSWER : FAILED];
  // Too large for this collector: a whole round at once, so the batch is halved now.
  if (status == 413) return [0, ATTEMPTS];
  warn('collector refused a batch:', status, body);
  return DELIVERED;
};

export const createTransport = (o: TransportOptions): Transport => {
  const enc = encodeURIComponent;
  const base = o.endpoint.replace(/\/+$/, '') + '/api/' + enc(o.projectId);
  const query = '?key=' + enc(o.key);
  const eventsUrl = base + '/events' + query;
  // Taken now: api.ts wraps window.fetch later, and the SDK's own requests must not be
  // recorded as the page's API calls.
  const fetchFn = typeof fetch == 'function' ? fetch : undefined;
  const nav = typeof navigator != 'undefined' ? navigator : undefined;
  const beacon = nav && typeof nav.sendBeacon == 'function' ? nav.sendBeacon.bind(nav) : undefined;
  const usePixel = o.transport == 'pixel' || (!fetchFn && !beacon);
  const useWs = o.transport == 'websocket' && typeof WebSocket == 'function';

  // An image cannot tell a refusal (bad key, bad batch) from an outage: a failed one costs the
  // batch an attempt, and the queue's bound gives it up (splitting it first, so that one bad
  // event does not take its batch-mates with it).
  const pixel = (body: string) =>
    new Promise<Outcome>((resolve) => {
      const img = new Image();
      img.onload = () => resolve(DELIVERED);
      img.onerror = () => resolve(failed);
      img.src = base + '/pixel.gif' + query + '&d=' + enc(body);
    });

  const post = (body: string) =>
    fetchFn!(eventsUrl, {
      method: 'POST',
      body,
      keepalive: body.length <= BODY_LIMIT,
      credentials: 'omit',
      headers: { 'Content-Type': 'text/plain' },
    }).then(
      (r) =>
        r.status < 300
          ? DELIVERED
          : r
              .text()
              .catch(() => '')
              .then((text) => judge(r.status, retryAfterMs(r.headers.get('Retry-After')), text)),
      () => noAnswer,
    );

  // WebSocket: one JSON envelope per text message, one JSON reply per message, in order.
  let ws: WebSocket | undefined;
  const replies: ((outcome: Outcome) => void)[] = [];
  const closeWs = () => {
    const socket = ws;
    ws = undefined;
    replies.splice(0).forEach((reply) => reply(noAnswer));
    if (socket) socket.close();
  };
  const overWs = (body: string) =>
    new Promise<Outcome>((resolve) => {
      if (!ws) {
        ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws' + query);
        ws.onmessage = (m) => {
          let answer: { status?: number; retry_after?: number } = {};
          try {
            answer = JSON.parse(m.data);
          } catch {
            /* not JSON: count it as a refusal */
          }
          const reply = replies.shift();
          // The collector's replies carry their status; anything else is a refusal.
          if (reply) reply(judge(answer.status || 400, answer.retry_after! * 1000 || 0, m.data));
        };
        ws.onclose = ws.onerror = closeWs;
      }
      const socket = ws;
      replies.push(resolve);
      const go = () => socket.send(body);
      if (socket.readyState == 1) go();
      else socket.addEventListener('open', go);
      // No reply in time: the socket is suspect; closing it fails every waiting send, in order.
      setTimeout(() => replies.indexOf(resolve) >= 0 && closeWs(), WS_REPLY_TIMEOUT_MS);
    });

  return {
    limit: usePixel ? PIXEL_LIMIT : BODY_LIMIT,
    send: (body) =>
      usePixel
        ? pixel(body)
        : useWs
          ? overWs(body)
          : beacon && (o.transport == 'beacon' || !fetchFn)
            ? Promise.resolve(beacon!(eventsUrl, body) ? DELIVERED : noAnswer)
            : post(body),
    sendNow(body) {
      if (usePixel) return !!pixel(body);
      if (beacon) return beacon(eventsUrl, body);
      post(body);
      return true;
    },
  };
};
