import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { onApiCalls } from '../src/api';
import type { ApiCallData } from '../src/contract';
import { startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;
const calls: ApiCallData[] = [];

beforeAll(async () => {
  server = await startServer({
    '/api/cart': (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"items":[]}'),
    '/api/broken': (_req, res) => res.writeHead(503).end('down'),
    '/api/missing': (_req, res) => res.writeHead(404).end('nope'),
    '/api/slow': (_req, res) => setTimeout(() => res.writeHead(200).end('late'), 1500),
  });
  // The collector lives under /api/p1/events on the same server: never recorded.
  onApiCalls((call) => calls.push(call), (url) => url.indexOf(server.url + '/api/p1/') == 0);
});
afterAll(() => server.close());
beforeEach(() => {
  calls.length = 0;
});

describe('wrapped fetch', () => {
  test('a successful call: method, URL without secrets, status, duration', async () => {
    const response = await fetch(server.url + '/api/cart?token=abc#frag', { method: 'post', body: '{}' });
    expect(await response.json()).toEqual({ items: [] });
    expect(calls).toEqual([
      { method: 'POST', url: server.url + '/api/cart?token=[Filtered]', status: 200, duration: expect.any(Number), ok: true },
    ]);
    expect(calls[0].duration).toBeGreaterThanOrEqual(0);
  });

  test('status ≥ 400 is a failure; the page still gets the response', async () => {
    const response = await fetch(server.url + '/api/broken');
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('down');
    expect(calls[0]).toMatchObject({ method: 'GET', status: 503, ok: false, failure: 'status' });
  });

  test('a network error rejects for the page as before, recorded as status 0', async () => {
    await expect(fetch('http://127.0.0.1:1/unreachable')).rejects.toThrow();
    expect(calls[0]).toMatchObject({ url: 'http://127.0.0.1:1/unreachable', status: 0, ok: false, failure: 'network' });
  });

  test('abort and timeout', async () => {
    // happy-dom's fetch ignores a signal aborted mid-flight, so here fetch rejects the way a
    // browser's does for AbortController.abort() and AbortSignal.timeout() (the e2e test
    // runs the real thing in Chromium).
    const realFetch = window.fetch;
    const { open, send } = XMLHttpRequest.prototype;
    const rejections = [new DOMException('aborted', 'AbortError'), new DOMException('signal timed out', 'TimeoutError')];
    window.fetch = () => Promise.reject(rejections.shift());
    try {
      onApiCalls((call) => calls.push(call), () => false);
      await expect(fetch(server.url + '/api/slow')).rejects.toMatchObject({ name: 'AbortError' });
      await expect(fetch(server.url + '/api/slow')).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      window.fetch = realFetch;
      Object.assign(XMLHttpRequest.prototype, { open, send });
    }
    expect(calls.map((c) => [c.status, c.failure])).toEqual([
      [0, 'abort'],
      [0, 'timeout'],
    ]);
  });

  test('a call longer than the contract allows (1 h) is recorded at 1 h, within the contract', async () => {
    const realFetch = window.fetch;
    const { open, send } = XMLHttpRequest.prototype;
    let now = 1000;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    window.fetch = () => ((now += 2 * 3600000), Promise.resolve(new Response('late')));
    try {
      onApiCalls((call) => calls.push(call), () => false);
      await fetch(server.url + '/api/slow');
    } finally {
      window.fetch = realFetch;
      Object.assign(XMLHttpRequest.prototype, { open, send });
      clock.mockRestore();
    }
    expect(calls[0].duration).toBe(3600000);
  });

  test('Request objects and relative URLs', async () => {
    await fetch(new Request(server.url + '/api/missing', { method: 'DELETE' }));
    await fetch('/nowhere').catch(() => undefined);
    expect(calls[0]).toMatchObject({ method: 'DELETE', status: 404, failure: 'status' });
    expect(calls[1].url).toBe('http://shop.example.com/nowhere');
  });

  test("the SDK's own requests to the collector are not recorded", async () => {
    await fetch(server.url + '/api/p1/events?key=k', { method: 'POST', body: '{"version":1,"sdk":{},"events":[]}' });
    expect(calls).toEqual([]);
  });
});

describe('wrapped XMLHttpRequest', () => {
  const xhr = (method: string, url: string, setup?: (x: XMLHttpRequest) => void) =>
    new Promise<XMLHttpRequest>((resolve) => {
      const x = new XMLHttpRequest();
      x.open(method, url);
      setup?.(x);
      x.addEventListener('loadend', () => resolve(x));
      x.send();
    });

  test('success and HTTP failure, the page sees the same responses', async () => {
    const ok = await xhr('GET', server.url + '/api/cart');
    const bad = await xhr('GET', server.url + '/api/broken');
    expect(ok.responseText).toBe('{"items":[]}');
    expect(bad.status).toBe(503);
    await waitFor(() => calls.length == 2);
    expect(calls[0]).toMatchObject({ method: 'GET', url: server.url + '/api/cart', status: 200, ok: true });
    expect(calls[1]).toMatchObject({ status: 503, ok: false, failure: 'status' });
  });

  // XHR timeouts are covered by the browser end-to-end test: happy-dom does not implement them.
  test('network error and abort', async () => {
    await xhr('GET', 'http://127.0.0.1:1/unreachable');
    await xhr('GET', server.url + '/api/slow', (x) => setTimeout(() => x.abort(), 20));
    await waitFor(() => calls.length == 2);
    expect(calls.map((c) => [c.status, c.failure])).toEqual([
      [0, 'network'],
      [0, 'abort'],
    ]);
  });
});
