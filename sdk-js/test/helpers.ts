/** Test helpers shared by the unit tests: page visibility, a local HTTP collector, fresh SDK modules. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { Envelope } from '../src/contract';

/** A path in the repository (the folder above sdk-js/); node paths, not happy-dom URLs. */
export const repoPath = (relative: string): string => join(dirname(new globalThis.URL(import.meta.url).pathname), '../..', relative) + (relative.endsWith('/') ? '/' : '');

/** Make the document visible or hidden and fire `visibilitychange`, as a tab switch does. */
export const setVisibility = (state: 'visible' | 'hidden'): void => {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
  Object.defineProperty(document, 'hidden', { value: state == 'hidden', configurable: true });
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
};

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface LocalServer {
  url: string;
  requests: Received[];
  /** Envelopes POSTed to /api/{project}/events, parsed. */
  envelopes(): Envelope[];
  /** Answer the next requests with these statuses (then 202 again). */
  answerWith(...answers: { status: number; headers?: Record<string, string>; body?: string }[]): void;
  close(): Promise<void>;
}

/**
 * A tiny HTTP server on 127.0.0.1 that speaks the collector's API closely enough for the
 * SDK: CORS for any origin, 202 `{"accepted": n}` for envelopes, and scripted failures.
 * `routes` adds endpoints for the page's own API calls.
 */
export const startServer = async (routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {}): Promise<LocalServer> => {
  const requests: Received[] = [];
  const scripted: { status: number; headers?: Record<string, string>; body?: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Headers', '*');
      res.setHeader('Access-Control-Allow-Methods', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
      if (req.method == 'OPTIONS') return res.writeHead(204).end();
      const path = (req.url || '').split('?')[0];
      if (routes[path]) return routes[path](req, res);
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const answer = scripted.shift();
      if (answer) return res.writeHead(answer.status, answer.headers).end(answer.body || '{"error":"scripted"}');
      let accepted = 0;
      try {
        accepted = JSON.parse(body).events.length;
      } catch {
        /* pixel or garbage */
      }
      res.writeHead(202, { 'Content-Type': 'application/json' }).end(JSON.stringify({ accepted, rejected: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    envelopes: () => requests.filter((r) => r.method == 'POST' && /\/events/.test(r.url)).map((r) => JSON.parse(r.body)),
    answerWith: (...answers) => scripted.push(...answers),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/** Poll until `check` returns a truthy value (or fail after `ms`). */
export const waitFor = async <T>(check: () => T, ms = 5000): Promise<T> => {
  const until = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error('waitFor: condition not met in ' + ms + ' ms');
    await new Promise((r) => setTimeout(r, 10));
  }
};
