import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Envelope, VigilEvent } from '../src/contract';
import { localStore } from '../src/lib/storage';
import { backoffMs, createQueue, type QueueOptions } from '../src/queue';
import { DELIVERED, FAILED, type Outcome, type Transport } from '../src/transport';

const SDK = { name: 'vigil-browser', version: '0.1.0' };
const OPTIONS: QueueOptions = { batchSize: 3, flushInterval: 5000, maxQueue: 500, maxStored: 100 };

/** A transport whose outcomes the test scripts; it records every body it was given. */
const scriptedTransport = (limit = 60000) => {
  const sent: Envelope[] = [];
  const beaconed: Envelope[] = [];
  const outcomes: Outcome[] = [];
  let beaconWorks = true;
  const t: Transport & { sent: Envelope[]; beaconed: Envelope[]; outcomes: Outcome[]; refuseBeacons(): void } = {
    limit,
    sent,
    beaconed,
    outcomes,
    refuseBeacons: () => (beaconWorks = false),
    send: (body) => {
      sent.push(JSON.parse(body));
      return Promise.resolve(outcomes.length ? outcomes.shift()! : DELIVERED);
    },
    sendNow: (body) => {
      if (beaconWorks) beaconed.push(JSON.parse(body));
      return beaconWorks;
    },
  };
  return t;
};

let n = 0;
const event = (extra: Partial<VigilEvent> = {}): VigilEvent => ({
  event_id: 'evt' + String(++n).padStart(10, '0'),
  type: 'custom',
  timestamp: new Date().toISOString(),
  session_id: 's'.repeat(32),
  data: { name: 'e' + n },
  ...extra,
});
const ids = (envelopes: Envelope[]) => envelopes.flatMap((e) => e.events.map((x) => x.event_id));
const context = () => ({ visitor_id: 'v'.repeat(32), environment: 'test' });
const setOnline = (online: boolean) => Object.defineProperty(navigator, 'onLine', { value: online, configurable: true });

beforeEach(() => {
  localStorage.clear();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  setOnline(true);
});

describe('batching', () => {
  test('a full batch leaves at once, a backlog right after it; a lone event waits for the interval', async () => {
    const t = scriptedTransport();
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    const events = Array.from({ length: 7 }, () => event());
    events.forEach(q.push);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent.map((e) => e.events.length)).toEqual([3, 3, 1]);
    expect(ids(t.sent)).toEqual(events.map((e) => e.event_id));
    const late = event();
    q.push(late);
    await vi.advanceTimersByTimeAsync(4999);
    expect(t.sent).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(ids(t.sent.slice(3))).toEqual([late.event_id]);
  });

  test('each body is a v1 envelope with the sdk, the shared context and the events as queued', async () => {
    const t = scriptedTransport();
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    const e = event({ page: { url: 'http://shop.example.com/' } });
    q.push(e);
    q.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toEqual([{ version: 1, sdk: SDK, context: context(), events: [e] }]);
  });

  test('batches stay under the transport size limit', async () => {
    const t = scriptedTransport(2000);
    const q = createQueue(t, SDK, context, { ...OPTIONS, batchSize: 100 }, localStore);
    for (let i = 0; i < 20; i++) q.push(event({ data: { name: 'x'.repeat(150) } }));
    q.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(t.sent)).toHaveLength(20);
    expect(t.sent.length).toBeGreaterThan(2);
    for (const envelope of t.sent) expect(JSON.stringify(envelope).length).toBeLessThanOrEqual(2000);
  });

  test('an oversized event loses its stack and breadcrumbs first, and is dropped if still too big', async () => {
    const t = scriptedTransport(3000);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    const crumbs = Array.from({ length: 50 }, () => ({ category: 'console', message: 'x'.repeat(100), timestamp: '2026-06-15T12:00:00.000Z' }));
    q.push(event({ type: 'error', data: { kind: 'js', message: 'boom', stack: 's'.repeat(2000), breadcrumbs: crumbs } }));
    q.push(event({ data: { name: 'n'.repeat(5000) } }));
    q.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent[0].events).toHaveLength(1);
    expect(t.sent[0].events[0].data).toEqual({ kind: 'js', message: 'boom' });
  });

  test('the memory queue is bounded: the oldest go first', async () => {
    const t = scriptedTransport();
    setOnline(false);
    const q = createQueue(t, SDK, context, { ...OPTIONS, maxQueue: 5, batchSize: 100 }, undefined);
    const events = Array.from({ length: 8 }, () => event());
    events.forEach(q.push);
    setOnline(true);
    q.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(t.sent)).toEqual(events.slice(3).map((e) => e.event_id));
  });
});

describe('retries', () => {
  test('a failed batch is retried with backoff, in order, with the same event ids', async () => {
    const t = scriptedTransport();
    t.outcomes.push([0, FAILED], [0, FAILED]);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    const events = [event(), event(), event()];
    events.forEach(q.push);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(499); // attempt 1 waits 500–1000 ms
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(501);
    expect(t.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2000); // attempt 2 waits 1000–2000 ms
    expect(t.sent).toHaveLength(3);
    expect(t.sent.map((e) => ids([e]))).toEqual([0, 1, 2].map(() => events.map((e) => e.event_id)));
  });

  test('Retry-After is honoured when longer than the backoff', async () => {
    const t = scriptedTransport();
    t.outcomes.push([30_000, 0]);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    q.push(event());
    q.flush();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent).toHaveLength(2);
  });

  test('refused batches (4xx) are not retried', async () => {
    const t = scriptedTransport();
    t.outcomes.push(DELIVERED);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    q.push(event());
    q.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(t.sent).toHaveLength(1);
  });

  test('backoff doubles up to a minute, with jitter', () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      const cap = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      const wait = backoffMs(attempt);
      expect(wait).toBeGreaterThanOrEqual(cap / 2);
      expect(wait).toBeLessThanOrEqual(cap);
    }
  });
});

describe('offline and hidden pages', () => {
  test('offline: nothing is sent, events are stored; back online they go at once', async () => {
    const t = scriptedTransport();
    setOnline(false);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    const events = [event(), event()];
    events.forEach(q.push);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.sent).toEqual([]);
    expect(localStore.keys('vigil.q.')).toHaveLength(1);
    setOnline(true);
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(t.sent)).toEqual(events.map((e) => e.event_id));
    expect(localStore.keys('vigil.q.')).toEqual([]);
  });

  test('hidden: everything queued goes by beacon, in size-limited batches', async () => {
    const t = scriptedTransport(2000);
    const q = createQueue(t, SDK, context, { ...OPTIONS, batchSize: 100 }, localStore);
    const events = Array.from({ length: 12 }, () => event({ data: { name: 'x'.repeat(300) } }));
    events.forEach(q.push);
    q.flushHidden();
    expect(t.beaconed.length).toBeGreaterThan(1);
    expect(ids(t.beaconed)).toEqual(events.map((e) => e.event_id));
    expect(localStore.keys('vigil.q.')).toEqual([]);
  });

  test('hidden while the collector asked to wait: events are stored, not beaconed', async () => {
    const t = scriptedTransport();
    t.outcomes.push([60_000, 0]);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    q.push(event());
    q.flush();
    await vi.advanceTimersByTimeAsync(0);
    q.flushHidden();
    expect(t.beaconed).toEqual([]);
    expect(localStore.keys('vigil.q.')).toHaveLength(1);
  });

  test('a refused beacon keeps the events in storage; the next page load sends them', async () => {
    const t = scriptedTransport();
    t.refuseBeacons();
    const q = createQueue(t, SDK, () => ({ visitor_id: 'old'.repeat(10), environment: 'test' }), OPTIONS, localStore);
    const events = [event(), event()];
    events.forEach(q.push);
    q.flushHidden();
    expect(localStore.keys('vigil.q.')).toHaveLength(1);

    const next = scriptedTransport();
    createQueue(next, SDK, context, OPTIONS, localStore);
    expect(localStore.keys('vigil.q.')).toEqual([]); // claimed
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(next.sent)).toEqual(events.map((e) => e.event_id));
    // The old page's context travels with its events: their own fields win over the new context.
    expect(next.sent[0].events[0]).toMatchObject({ visitor_id: 'old'.repeat(10), environment: 'test' });
  });

  test('a page closed offline sends nothing more, even if it comes back online while unloading', async () => {
    const t = scriptedTransport();
    setOnline(false);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    const closing = event();
    q.push(closing);
    q.flushHidden(true);
    expect(localStore.keys('vigil.q.')).toHaveLength(1);
    // Chromium fires `online` on a page it is closing when DevTools' network emulation ends.
    setOnline(true);
    dispatchEvent(new Event('online'));
    [event(), event(), event()].forEach(q.push); // a full batch would otherwise leave at once
    await vi.advanceTimersByTimeAsync(OPTIONS.flushInterval);
    expect(t.sent).toEqual([]);
    expect(t.beaconed).toEqual([]);

    // Everything is kept for the next page load, which sends each event once.
    const next = scriptedTransport();
    createQueue(next, SDK, context, OPTIONS, localStore);
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(next.sent)[0]).toBe(closing.event_id);
    expect(ids(next.sent)).toHaveLength(4);
  });

  test('a page hidden but kept (tab switch) goes on sending when it comes back online', async () => {
    const t = scriptedTransport();
    setOnline(false);
    const q = createQueue(t, SDK, context, OPTIONS, localStore);
    const kept = event();
    q.push(kept);
    q.flushHidden(false);
    setOnline(true);
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(t.sent)).toEqual([kept.event_id]);
    // Delivered, so no longer stored (queues of earlier tests still listen for `online`).
    const stored = localStore.keys('vigil.q.').map((k) => localStorage.getItem(k));
    expect(stored.join()).not.toContain(kept.event_id);
  });

  test('two tabs keep separate stored queues; the next load takes both', async () => {
    const tabs = [scriptedTransport(), scriptedTransport()];
    setOnline(false);
    const queues = tabs.map((t) => createQueue(t, SDK, context, OPTIONS, localStore));
    queues[0].push(event());
    queues[1].push(event());
    queues.forEach((q) => q.flushHidden());
    expect(localStore.keys('vigil.q.')).toHaveLength(2);
    setOnline(true);
    const next = scriptedTransport();
    createQueue(next, SDK, context, OPTIONS, localStore);
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(next.sent)).toHaveLength(2);
  });

  test('storage is bounded by maxStored (newest kept)', () => {
    setOnline(false);
    const q = createQueue(scriptedTransport(), SDK, context, { ...OPTIONS, maxStored: 4 }, localStore);
    const events = Array.from({ length: 10 }, () => event());
    events.forEach(q.push);
    q.flushHidden();
    const stored = JSON.parse(localStorage.getItem(localStore.keys('vigil.q.')[0])!);
    expect(stored.map((e: VigilEvent) => e.event_id)).toEqual(events.slice(6).map((e) => e.event_id));
  });

  test('without a store (cookieless, no consent) nothing is written', () => {
    setOnline(false);
    const q = createQueue(scriptedTransport(), SDK, context, OPTIONS, undefined);
    q.push(event());
    q.flushHidden();
    expect(localStorage.length).toBe(0);
  });

  test('setStore(undefined) removes what this page stored', () => {
    setOnline(false);
    const q = createQueue(scriptedTransport(), SDK, context, OPTIONS, localStore);
    q.push(event());
    q.flushHidden();
    q.setStore(undefined);
    expect(localStorage.length).toBe(0);
  });
});
