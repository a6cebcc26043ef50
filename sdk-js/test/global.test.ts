/** The script-tag entry: data-attribute start, the pre-load stub, a second copy of the bundle. */
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;
type Api = typeof import('../src/index');
const w = window as unknown as { Vigil: Api & { q?: unknown[] } };

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

test('starts from data attributes and replays calls the page queued before it loaded', async () => {
  const script = document.createElement('script');
  Object.assign(script.dataset, { endpoint: server.url, projectId: 'shop', key: 'pk_tag', release: 'shop@3', environment: 'staging', hashRouting: '' });
  Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
  // The stub from docs/sdk.md, as a page runs it before the async script arrives.
  const stub = { q: [] as unknown[] } as Record<string, unknown> & { q: unknown[] };
  ['init', 'track', 'identify', 'setTag', 'captureException', 'captureMessage', 'addBreadcrumb', 'setConsent', 'flush'].forEach(
    (m) => (stub[m] = (...args: unknown[]) => stub.q.push([m, args])),
  );
  w.Vigil = stub as never;
  w.Vigil.track('clicked-before-load', { early: true });
  w.Vigil.setTag('source', 'stub');

  await import('../src/global');
  expect(w.Vigil.SDK).toEqual({ name: 'vigil-browser', version: expect.any(String) });
  w.Vigil.flush();
  await waitFor(() => server.envelopes().some((e) => e.events.some((ev) => ev.type == 'custom')));
  const [envelope] = server.envelopes();
  expect(server.requests[0].url).toBe('/api/shop/events?key=pk_tag');
  expect(envelope.context).toMatchObject({ release: 'shop@3', environment: 'staging' });
  const custom = server.envelopes().flatMap((e) => e.events).find((e) => e.type == 'custom')!;
  expect(custom.data).toEqual({ name: 'clicked-before-load', props: { early: true } });
  // data-hash-routing: a new hash is a page view of its own
  const views = () => server.envelopes().flatMap((e) => e.events).filter((ev) => ev.type == 'page_view');
  await waitFor(() => views().length > 0);
  location.hash = '#/account';
  dispatchEvent(new HashChangeEvent('hashchange'));
  w.Vigil.flush();
  await waitFor(() => views().some((ev) => ev.page!.url!.endsWith('#/account')));
  expect(views().map((ev) => (ev.data as { navigation_type: string }).navigation_type)).toEqual(['navigate', 'spa']);
});

test('a second copy of the bundle keeps the first one running', async () => {
  const first = w.Vigil;
  vi.resetModules();
  await import('../src/global');
  expect(w.Vigil).toBe(first);
});
