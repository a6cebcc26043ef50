import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { ATTEMPTS, createTransport, DELIVERED, FAILED, judge, NO_ANSWER, retryAfterMs, type TransportName } from '../src/transport';
import { startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
afterEach(() => {
  server.requests.length = 0;
});

const transport = (name: TransportName = 'auto', endpoint = server.url) =>
  createTransport({ endpoint: endpoint + '/', projectId: 'p1', key: 'pk live', transport: name });
const body = JSON.stringify({ version: 1, sdk: { name: 'vigil-browser', version: '0' }, events: [{ event_id: 'e'.repeat(16) }] });

describe('Retry-After', () => {
  test('delta-seconds, HTTP dates, garbage', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs('0')).toBe(0);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(retryAfterMs(inTenSeconds)).toBeGreaterThan(8000);
    expect(retryAfterMs(new Date(Date.now() - 10_000).toUTCString())).toBe(0);
    expect(retryAfterMs('soon')).toBe(0);
    expect(retryAfterMs(null)).toBe(0);
  });
});

describe('fetch', () => {
  test('POSTs the envelope as text/plain to /api/{project}/events with the key in the query', async () => {
    expect(await transport().send(body)).toBe(DELIVERED);
    const [request] = server.requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/api/p1/events?key=pk%20live');
    expect(request.headers['content-type']).toMatch(/^text\/plain/);
    expect(request.body).toBe(body);
  });

  test('429 and 503 wait for Retry-After at no cost; other 5xx cost an attempt; 4xx is final', async () => {
    server.answerWith(
      { status: 503, headers: { 'Retry-After': '7' }, body: '{"error":"kafka_timeout"}' },
      { status: 429, headers: { 'Retry-After': '2' } },
      { status: 503, headers: { 'Retry-After': '5' }, body: '{"error":"internal_error","message":"…","path":""}' },
      { status: 500 },
      { status: 502 },
      { status: 400, body: '{"error":"invalid envelope","reason":"missing_field"}' },
      { status: 413 },
      { status: 422 },
    );
    const t = transport();
    expect(await t.send(body)).toEqual([7000, 0]);
    expect(await t.send(body)).toEqual([2000, 0]);
    expect(await t.send(body)).toEqual([5000, FAILED]);
    expect(await t.send(body)).toEqual([0, FAILED]);
    expect(await t.send(body)).toEqual([0, NO_ANSWER]);
    expect(await t.send(body)).toBe(DELIVERED);
    expect(await t.send(body)).toEqual([0, ATTEMPTS]);
    expect(await t.send(body)).toBe(DELIVERED);
  });

  test('every refusal the collector can answer is final: the batch is dropped, not resent', async () => {
    const refusals = [401, 403, 404, 415, 422];
    server.answerWith(...refusals.map((status) => ({ status, body: '{"error":"refused"}' })));
    const t = transport();
    for (const status of refusals) expect(await t.send(body), `after a ${status}`).toBe(DELIVERED);
    expect(server.requests.length).toBe(refusals.length);
  });

  test('a network error is retried at a quarter of an attempt', async () => {
    expect(await transport('auto', 'http://127.0.0.1:1').send(body)).toEqual([0, NO_ANSWER]);
  });
});

describe('judge', () => {
  test('busy, failing, no answer, refused', () => {
    expect(judge(202, 0, '')).toBe(DELIVERED);
    expect(judge(429, 0, '')).toEqual([0, 0]);
    expect(judge(503, 3000, '{"error":"kafka_unavailable"}')).toEqual([3000, 0]);
    // A 503 without Retry-After is no promise of recovery; the collector's own bug is a failure.
    expect(judge(503, 0, '')).toEqual([0, FAILED]);
    expect(judge(503, 5000, '{"error":"internal_error"}')).toEqual([5000, FAILED]);
    expect(judge(500, 0, '')).toEqual([0, FAILED]);
    expect(judge(504, 0, '')).toEqual([0, NO_ANSWER]);
    for (const status of [400, 401, 403, 404, 415, 422]) expect(judge(status, 0, '')).toBe(DELIVERED);
    // Too large for this collector (its VIGIL_MAX_BODY_BYTES may be below the SDK's 60 KB): halved at once.
    expect(judge(413, 0, '')).toEqual([0, ATTEMPTS]);
  });
});

describe('sendBeacon', () => {
  test('sendNow hands the envelope to navigator.sendBeacon', async () => {
    const beacon = vi.spyOn(navigator, 'sendBeacon');
    expect(transport().sendNow(body)).toBe(true);
    expect(beacon).toHaveBeenCalledWith(server.url + '/api/p1/events?key=pk%20live', body);
    await waitFor(() => server.requests.length == 1);
    expect(server.requests[0].body).toBe(body);
  });

  test('a refused beacon is reported, so the queue can keep the events', () => {
    vi.spyOn(navigator, 'sendBeacon').mockReturnValue(false);
    expect(transport().sendNow(body)).toBe(false);
  });

  test("transport 'beacon' uses it for every send", async () => {
    const beacon = vi.spyOn(navigator, 'sendBeacon');
    expect(await transport('beacon').send(body)).toBe(DELIVERED);
    expect(beacon).toHaveBeenCalledTimes(1);
    await waitFor(() => server.requests.length == 1);
  });
});

describe('image pixel', () => {
  // happy-dom does not load images; this Image does what a browser's does: GET src, then onload/onerror.
  class LoadingImage {
    onload?: () => void;
    onerror?: () => void;
    set src(url: string) {
      fetch(url).then((r) => (r.ok ? this.onload?.() : this.onerror?.()), () => this.onerror?.());
    }
  }

  test('GETs pixel.gif with the envelope URL-encoded in d', async () => {
    vi.stubGlobal('Image', LoadingImage);
    try {
      const t = transport('pixel');
      expect(t.limit).toBeLessThanOrEqual(2000);
      expect(await t.send(body)).toBe(DELIVERED);
      const url = new URL(server.requests[0].url, server.url);
      expect(server.requests[0].method).toBe('GET');
      expect(url.pathname).toBe('/api/p1/pixel.gif');
      expect(url.searchParams.get('key')).toBe('pk live');
      expect(url.searchParams.get('d')).toBe(body);
      // A failed image cannot say why: it costs the batch an attempt (the queue bounds them).
      server.answerWith({ status: 503 }, { status: 400 });
      expect(await t.send(body)).toEqual([0, FAILED]);
      expect(await t.send(body)).toEqual([0, FAILED]);
      expect(await t.send(body)).toBe(DELIVERED);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  test('is the fallback when neither fetch nor sendBeacon exists', async () => {
    vi.stubGlobal('Image', LoadingImage);
    const realFetch = globalThis.fetch;
    vi.stubGlobal('fetch', undefined);
    vi.spyOn(navigator, 'sendBeacon').mockImplementation(undefined as never);
    Object.defineProperty(navigator, 'sendBeacon', { value: undefined, configurable: true });
    try {
      const t = transport();
      vi.stubGlobal('fetch', realFetch); // for LoadingImage itself
      expect(t.limit).toBeLessThanOrEqual(2000);
      expect(await t.send(body)).toBe(DELIVERED);
      expect(server.requests[0].url).toContain('/pixel.gif?');
      expect(t.sendNow(body)).toBe(true);
    } finally {
      delete (navigator as unknown as Record<string, unknown>).sendBeacon;
      vi.unstubAllGlobals();
    }
  });
});

describe('WebSocket', () => {
  let wss: WebSocketServer;
  let port: number;
  let answer: (socket: ServerSocket, message: string) => void;
  const received: string[] = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/api/p1/ws' });
    await new Promise((r) => wss.once('listening', r));
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (socket, request) => {
      received.push('connect ' + request.url);
      socket.on('message', (data) => {
        received.push(String(data));
        answer(socket, String(data));
      });
    });
  });
  afterAll(() => {
    wss.clients.forEach((c) => c.terminate());
    return new Promise((r) => wss.close(r));
  });

  test('one envelope per message, one reply per message, in order', async () => {
    received.length = 0;
    answer = (socket, message) => socket.send(JSON.stringify({ status: 202, accepted: JSON.parse(message).events.length }));
    const t = transport('websocket', `http://127.0.0.1:${port}`);
    expect(await Promise.all([t.send(body), t.send(body)])).toEqual([DELIVERED, DELIVERED]);
    expect(received).toEqual(['connect /api/p1/ws?key=pk%20live', body, body]);
  });

  test("a reply is judged by its status like a POST's answer", async () => {
    const replies = [
      { status: 400, error: 'invalid_json', path: '' },
      { status: 503, error: 'kafka_timeout', retry_after: 3 },
      { status: 503, error: 'internal_error', retry_after: 5 },
      { status: 202, accepted: 1, rejected: [] },
      { error: 'a reply without its status' },
    ];
    answer = (socket) => socket.send(JSON.stringify(replies.shift()));
    const t = transport('websocket', `http://127.0.0.1:${port}`);
    expect(await t.send(body)).toBe(DELIVERED);
    expect(await t.send(body)).toEqual([3000, 0]);
    expect(await t.send(body)).toEqual([5000, FAILED]);
    expect(await t.send(body)).toBe(DELIVERED);
    expect(await t.send(body)).toBe(DELIVERED);
  });

  test('a socket closed before replying fails its sends; the next send reconnects', async () => {
    received.length = 0;
    let first = true;
    answer = (socket) => {
      if (first) {
        first = false;
        socket.terminate();
      } else socket.send('{"status":202,"accepted":1}');
    };
    const t = transport('websocket', `http://127.0.0.1:${port}`);
    expect(await t.send(body)).toEqual([0, NO_ANSWER]);
    expect(await t.send(body)).toBe(DELIVERED);
    expect(received.filter((r) => r.startsWith('connect'))).toHaveLength(2);
  });

  test('no server: retried', async () => {
    expect(await transport('websocket', 'http://127.0.0.1:1').send(body)).toEqual([0, NO_ANSWER]);
  });
});
