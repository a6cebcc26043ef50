/**
 * Bounded retries, through the real queue and transport: `fetch` is scripted per request
 * (status, Retry-After, body — what the collector and gateways answer) and time is fake.
 * A batch the collector keeps failing on is halved down to single events and a single
 * event that still fails is dropped and reported, so the others arrive exactly once; a
 * busy collector (429, 503 with Retry-After) is waited for, never split; no answer at all
 * (offline-ish networks) wears a batch's attempts down slowly; attempts survive a page load.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Envelope, VigilEvent } from '../src/contract';
import { localStore } from '../src/lib/storage';
import { createQueue, type QueueOptions } from '../src/queue';
import { createTransport } from '../src/transport';

const warnings = vi.hoisted(() => [] as string[]);
vi.mock('../src/lib/log', () => ({
  setDebug: () => undefined,
  complain: () => undefined,
  warn: (...args: unknown[]) => warnings.push(args.join(' ')),
}));

const SDK = { name: 'vigil-browser', version: '0.1.0' };
const OPTIONS: QueueOptions = { batchSize: 4, flushInterval: 5000, maxQueue: 500, maxStored: 100 };
const context = () => ({ visitor_id: 'v'.repeat(32), environment: 'test' });
const HOUR = 3_600_000;

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}
/** A collector (or the network) scripted by a function of each request body; records the bodies. */
const collector = (answer: (body: string, n: number) => Answer | 'network') => {
  const bodies: string[] = [];
  const accepted: string[] = [];
  vi.stubGlobal('fetch', (_url: string, init: { body: string }) => {
    bodies.push(init.body);
    const a = answer(init.body, bodies.length);
    if (a == 'network') return Promise.reject(new TypeError('Failed to fetch'));
    if (a.status < 300) accepted.push(...(JSON.parse(init.body) as Envelope).events.map((e) => e.event_id));
    const headers = new Map(Object.entries(a.headers || {}).map(([k, v]) => [k.toLowerCase(), v]));
    return Promise.resolve({
      status: a.status,
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      text: () => Promise.resolve(a.body ?? '{"accepted":0,"rejected":[]}'),
    });
  });
  Object.defineProperty(navigator, 'sendBeacon', { value: undefined, configurable: true });
  const transport = createTransport({ endpoint: 'http://collector.test', projectId: '1', key: 'k', transport: 'fetch' });
  return {
    transport,
    bodies,
    accepted,
    /** Event ids of each request, in order. */
    batches: () => bodies.map((b) => (JSON.parse(b) as Envelope).events.map((e) => e.event_id)),
  };
};

let n = 0;
const event = (name = 'e'): VigilEvent<'custom'> => ({
  event_id: 'evt' + String(++n).padStart(10, '0'),
  type: 'custom',
  timestamp: new Date().toISOString(),
  session_id: 's'.repeat(32),
  data: { name },
});
const POISON = 'poison-marker';
const INTERNAL_ERROR: Answer = {
  status: 503,
  headers: { 'Retry-After': '5' },
  body: '{"error":"internal_error","message":"the collector failed while handling this request","path":""}',
};

beforeEach(() => {
  localStorage.clear();
  warnings.length = 0;
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  delete (navigator as unknown as Record<string, unknown>).sendBeacon;
});

describe('a collector that keeps failing', () => {
  test('a batch answered 500 forever stops being retried after the bound; its events are dropped and reported', async () => {
    const c = collector(() => ({ status: 500, body: 'Internal Server Error' }));
    const q = createQueue(c.transport, SDK, context, OPTIONS, localStore);
    const events = [event(), event(), event(), event()];
    events.forEach(q.push);
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    const tried = c.bodies.length;
    // 3 attempts at 4 events, 3 at 2 (twice), 3 alone (4 times): 21.
    expect(tried).toBe(21);
    expect(c.batches().map((b) => b.length)).toEqual([4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(c.bodies.length).toBe(tried);
    const drops = warnings.filter((w) => w.startsWith('gave up'));
    expect(drops).toHaveLength(4);
    for (const e of events) expect(drops.join('\n')).toContain(e.event_id);
    expect(drops[3]).toContain('4 so far');
    // Nothing of them is left to be sent by a later page load either.
    q.flushHidden(true);
    expect(localStore.keys('vigil.q.')).toEqual([]);
  });

  test.each([
    ['500', { status: 500, body: 'Internal Server Error' }],
    ["the collector's own 503 internal_error, whatever its Retry-After", INTERNAL_ERROR],
  ] as [string, Answer][])('one poison event (%s whenever it is in the batch): split, every other event delivered exactly once', async (_name, failure) => {
    const c = collector((body) => (body.includes(POISON) ? failure : { status: 202 }));
    const q = createQueue(c.transport, SDK, context, { ...OPTIONS, batchSize: 20 }, localStore);
    const events = Array.from({ length: 13 }, (_, i) => event(i == 6 ? POISON : 'e' + i));
    events.forEach(q.push);
    q.flush();
    await vi.advanceTimersByTimeAsync(HOUR);
    const good = events.filter((_, i) => i != 6).map((e) => e.event_id);
    expect([...c.accepted].sort()).toEqual([...good].sort());
    const withPoison = c.batches().filter((b) => b.includes(events[6].event_id));
    expect(withPoison[0]).toHaveLength(13);
    expect(withPoison[withPoison.length - 1]).toEqual([events[6].event_id]);
    expect(warnings.filter((w) => w.startsWith('gave up'))).toHaveLength(1);
    // The queue has drained: nothing more is sent, later events go at once.
    const tried = c.bodies.length;
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(c.bodies.length).toBe(tried);
    const late = event();
    q.push(late);
    q.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(c.accepted[c.accepted.length - 1]).toBe(late.event_id);
  });

  test('the other events wait for the poison only as long as its bound', async () => {
    const c = collector((body) => (body.includes(POISON) ? { status: 500 } : { status: 202 }));
    const q = createQueue(c.transport, SDK, context, OPTIONS, localStore);
    [event(POISON), event(), event(), event()].forEach(q.push);
    await vi.advanceTimersByTimeAsync(0);
    // 3 attempts at 4, at 2, alone: 9 failures with backoff (1 s doubling, capped at a minute), reset by each success.
    await vi.advanceTimersByTimeAsync(6 * 60_000);
    expect(c.accepted).toHaveLength(3);
  });
});

describe('a batch too large for the collector', () => {
  test('413 halves the batch at once until it fits; an event too large alone is dropped', async () => {
    // A collector whose body limit is below the SDK's 60 KB: it takes 2 events per request, and never the big one.
    const tooLarge = (body: string) => body.includes('"big"') || (JSON.parse(body) as Envelope).events.length > 2;
    const c = collector((body) => (tooLarge(body) ? { status: 413, body: '{"error":"body_too_large"}' } : { status: 202 }));
    const q = createQueue(c.transport, SDK, context, OPTIONS, localStore);
    const events = [event(), event(), event('big'), event(), event(), event()];
    events.forEach(q.push);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(c.batches().map((b) => b.length)).toEqual([4, 2, 2, 1, 1, 2]);
    expect([...c.accepted].sort()).toEqual(events.filter((_, i) => i != 2).map((e) => e.event_id).sort());
    expect(warnings.filter((w) => w.startsWith('gave up'))).toHaveLength(1);
  });
});

describe('a busy collector', () => {
  test.each([
    ['429', { status: 429, headers: { 'Retry-After': '30' }, body: '{"error":"rate_limited"}' }],
    ['503 kafka_timeout', { status: 503, headers: { 'Retry-After': '30' }, body: '{"error":"kafka_timeout"}' }],
  ] as [string, Answer][])('%s with Retry-After: waited for as long as it lasts, never split, nothing dropped', async (_name, busy) => {
    const c = collector((_body, i) => (i <= 40 ? busy : { status: 202 }));
    const q = createQueue(c.transport, SDK, context, OPTIONS, localStore);
    const events = [event(), event(), event(), event()];
    events.forEach(q.push);
    await vi.advanceTimersByTimeAsync(0);
    expect(c.bodies).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(29_999); // Retry-After, not the 1 s backoff
    expect(c.bodies).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.bodies).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(c.bodies).toHaveLength(41);
    expect(new Set(c.batches().map((b) => b.join()))).toEqual(new Set([events.map((e) => e.event_id).join()]));
    expect(c.accepted).toEqual(events.map((e) => e.event_id));
    expect(warnings.filter((w) => w.startsWith('gave up'))).toEqual([]);
  });
});

describe('no answer at all', () => {
  test('network errors and gateway 502/504 wear attempts down four times slower than failures', async () => {
    let i = 0;
    const c = collector(() => (++i % 3 == 0 ? { status: 502 } : i % 3 == 1 ? 'network' : { status: 504 }));
    const q = createQueue(c.transport, SDK, context, OPTIONS, localStore);
    [event(), event(), event(), event()].forEach(q.push);
    await vi.advanceTimersByTimeAsync(0);
    // 11 with no answer cost less than 3 failures: still the whole batch.
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(c.batches().slice(0, 12).map((b) => b.length)).toEqual(Array(12).fill(4));
    expect(c.batches()[12]).toHaveLength(2);
  });
});

describe('attempts survive the page', () => {
  test('an event stored past this page\'s bound goes once, alone; only a failure drops it, not a busy collector', async () => {
    const [spent, fresh] = [event(), event()];
    // Stored by a page with batchSize 1000: 24 failed attempts (this page, batchSize 4, drops at 9).
    localStorage.setItem('vigil.q.old', JSON.stringify([24, spent, fresh]));
    let i = 0;
    const c = collector(() => (++i == 1 ? { status: 429, headers: { 'Retry-After': '1' } } : i == 2 ? { status: 500 } : { status: 202 }));
    createQueue(c.transport, SDK, context, OPTIONS, localStore);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(c.batches()).toEqual([[spent.event_id], [spent.event_id], [fresh.event_id]]);
    expect(warnings.filter((w) => w.startsWith('gave up'))).toHaveLength(1);
  });

  test('events stored by a closing page keep their failed attempts: the next page goes on halving', async () => {
    let c = collector(() => ({ status: 500 }));
    const q = createQueue(c.transport, SDK, context, OPTIONS, localStore);
    const events = [event(), event(), event(), event()];
    events.forEach(q.push);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(1000); // the second attempt fails too
    expect(c.bodies).toHaveLength(2);
    q.flushHidden(true); // a retry is pending: stored, not beaconed
    expect(localStore.keys('vigil.q.')).toHaveLength(1);

    // The next page load: one more failure is the batch's third at this size.
    c = collector(() => ({ status: 500 }));
    createQueue(c.transport, SDK, context, OPTIONS, localStore);
    await vi.advanceTimersByTimeAsync(0);
    expect(c.batches()).toEqual([events.map((e) => e.event_id)]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.batches()[1]).toEqual(events.slice(0, 2).map((e) => e.event_id));
  });
});
