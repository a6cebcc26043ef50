/**
 * The public API and the event pipeline of a page running the whole SDK
 * (sample → build → beforeSend → queue), against a local collector.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { VigilEvent } from '../src/contract';
import { startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;
let Vigil: typeof import('../src/index');
const sent = () => server.envelopes().flatMap((e) => e.events.map((ev) => ({ ...e.context, ...ev }) as VigilEvent));
const sentOf = (type: string) => sent().filter((e) => e.type == type);
/** Flush until `check` holds (events may still be on their way into the queue). */
const flushed = async (check: (events: VigilEvent[]) => unknown) => {
  await waitFor(() => {
    Vigil.flush();
    return check(sent());
  });
  return sent();
};
// log.ts keeps the console.warn it finds when it loads: give it one the tests can read.
const consoleWarn = vi.fn();

beforeAll(async () => {
  server = await startServer({ '/api/orders': (_req, res) => res.writeHead(502).end() });
  const realWarn = console.warn;
  console.warn = consoleWarn;
  Vigil = await import('../src/index');
  console.warn = realWarn;
});
afterAll(() => server.close());

describe('before init', () => {
  test('every API call is a harmless no-op', () => {
    expect(() => {
      Vigil.track('early');
      Vigil.identify('u1');
      Vigil.setTag('k', 'v');
      Vigil.captureException(new Error('early'));
      Vigil.captureMessage('early');
      Vigil.addBreadcrumb('x', 'y');
      Vigil.setConsent(true);
      Vigil.flush();
    }).not.toThrow();
  });

  test('init with missing options says what is missing, and throws nothing', () => {
    expect(() => Vigil.init({} as never)).not.toThrow();
    expect(() => Vigil.init(undefined as never)).not.toThrow();
    expect(consoleWarn).toHaveBeenCalledWith('[vigil]', 'Vigil.init: missing endpoint, projectId, key (see docs/sdk.md)');
  });
});

describe('a running SDK', () => {
  beforeAll(() => {
    Vigil.init({
      endpoint: server.url,
      projectId: 'shop',
      key: 'pk_test',
      release: 'shop@2.4.1',
      environment: 'staging',
      batchSize: 1000,
      sampleRates: { form_submit: 0 },
      beforeSend: (event) => {
        const name = (event.data as { name?: string }).name;
        if (name == 'drop-me') return null;
        if (name == 'throw-me') throw new Error('buggy hook');
        if (name == 'rename-me') (event.data as { name: string }).name = 'renamed';
        return event;
      },
    });
  });

  test('a second init is ignored', async () => {
    Vigil.init({ endpoint: 'http://127.0.0.1:1', projectId: 'other', key: 'k' });
    const views = await flushed((events) => events.some((e) => e.type == 'page_view'));
    expect(views.filter((e) => e.type == 'page_view')).toHaveLength(1);
    expect(server.requests[0].url).toBe('/api/shop/events?key=pk_test');
  });

  test('every event has ids, time, page, release and environment', async () => {
    Vigil.track('signup', { plan: 'pro' });
    await flushed(() => sentOf('custom').length > 0);
    const [event] = sentOf('custom');
    expect(event).toMatchObject({
      event_id: expect.stringMatching(/^[a-f0-9]{32}$/),
      type: 'custom',
      session_id: expect.stringMatching(/^[a-f0-9]{32}$/),
      visitor_id: expect.stringMatching(/^[a-f0-9]{32}$/),
      release: 'shop@2.4.1',
      environment: 'staging',
      page: { url: location.href },
      data: { name: 'signup', props: { plan: 'pro' } },
    });
    expect(Date.now() - Date.parse(event.timestamp)).toBeLessThan(10_000);
  });

  test('beforeSend can change or drop an event; a throwing hook keeps it', async () => {
    ['drop-me', 'rename-me', 'throw-me'].forEach((name) => Vigil.track(name));
    await flushed(() => sentOf('custom').some((e) => (e.data as { name: string }).name == 'throw-me'));
    const names = sentOf('custom').map((e) => (e.data as { name: string }).name);
    expect(names).toContain('renamed');
    expect(names).not.toContain('drop-me');
    expect(names).not.toContain('rename-me');
  });

  test('a sample rate of 0 sends none of that type', async () => {
    document.body.innerHTML = '<form id="f"></form><button id="b">Go</button>';
    document.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
    document.querySelector('button')!.click();
    await flushed(() => sentOf('click').length > 0);
    expect(sentOf('form_submit')).toEqual([]);
  });

  test('identify and tags travel on later events', async () => {
    Vigil.identify('user-1234', { plan: 'pro' });
    Vigil.setTag('ab_test', 'variant-b');
    Vigil.setTag('beta', true);
    Vigil.setTag('gone', 'x');
    Vigil.setTag('gone', null);
    Vigil.track('after');
    await flushed(() => sentOf('custom').some((e) => (e.data as { name: string }).name == 'after'));
    expect(sentOf('identify')[0]).toMatchObject({ user_id: 'user-1234', data: { user_id: 'user-1234', traits: { plan: 'pro' } } });
    const after = sentOf('custom').find((e) => (e.data as { name: string }).name == 'after')!;
    expect(after).toMatchObject({ user_id: 'user-1234', tags: { ab_test: 'variant-b', beta: true } });
    expect(localStorage.getItem('vigil.uid')).toBe('user-1234');
  });

  test('at most 50 tags', () => {
    for (let i = 0; i < 60; i++) Vigil.setTag('t' + i, i);
    Vigil.track('tagged');
    return flushed(() => {
      const e = sentOf('custom').find((x) => (x.data as { name: string }).name == 'tagged');
      return e && expect(Object.keys(e.tags!)).toHaveLength(50);
    });
  });

  test('errors carry the breadcrumb trail: clicks, navigation, API calls, console, custom', async () => {
    document.body.innerHTML = '<button id="pay">Pay</button>';
    document.querySelector('button')!.click();
    history.pushState({}, '', '/checkout');
    await fetch(server.url + '/api/orders').catch(() => undefined);
    console.warn('retrying payment');
    Vigil.addBreadcrumb('checkout', 'step 2 reached');
    Vigil.captureException(new TypeError('card declined'));
    await flushed(() => sentOf('error').some((e) => (e.data as { message: string }).message == 'card declined'));
    const error = sentOf('error').find((e) => (e.data as { message: string }).message == 'card declined')!;
    const crumbs = (error.data as { breadcrumbs: { category: string; message: string; level: string }[] }).breadcrumbs;
    expect(crumbs.map((c) => c.category)).toEqual(expect.arrayContaining(['ui.click', 'navigation', 'http', 'console', 'checkout']));
    expect(crumbs.find((c) => c.category == 'navigation')!.message).toBe('/products/42?ref=mail → /checkout');
    expect(crumbs.find((c) => c.category == 'http')).toMatchObject({ level: 'error', message: expect.stringContaining('/api/orders → 502') });
    expect(error.data).toMatchObject({ kind: 'js', type: 'TypeError', handled: true });
  });

  test('a failed API call is an api_call and an api error', async () => {
    await flushed(() => sentOf('error').some((e) => (e.data as { kind: string }).kind == 'api'));
    const apiError = sentOf('error').find((e) => (e.data as { kind: string }).kind == 'api')!;
    expect(apiError.data).toMatchObject({
      kind: 'api',
      type: 'HttpError',
      message: 'GET ' + server.url + '/api/orders → 502',
      request: { method: 'GET', status: 502, ok: false, failure: 'status' },
    });
    expect(sentOf('api_call').some((e) => (e.data as { status: number }).status == 502)).toBe(true);
  });

  test('captureMessage', async () => {
    Vigil.captureMessage('inventory out of sync');
    await flushed(() => sentOf('error').some((e) => (e.data as { type?: string }).type == 'Message'));
  });

  test("the SDK's own requests are not recorded as the page's", () => {
    expect(sentOf('api_call').every((e) => !(e.data as { url: string }).url.includes('/api/shop/'))).toBe(true);
  });
});
