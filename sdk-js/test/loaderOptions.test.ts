/**
 * The loader snippet with the SDK started by a queued `Vigil.init({…})` (options attributes
 * cannot carry): `errors: false` is honoured for what the snippet held too, and the snippet
 * stops listening all the same.
 */
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { startServer, waitFor, type LocalServer } from './helpers';

type Api = typeof import('../src/index');
const w = window as unknown as { Vigil: Api };
let server: LocalServer;

const setCurrentScript = (script: HTMLScriptElement) => Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
const events = () => server.envelopes().flatMap((e) => e.events);

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await waitFor(() => {
    w.Vigil.flush();
    return events().some((ev) => ev.type == 'page_view');
  });
  await server.close();
});

test('errors: false in a queued init drops what the snippet held, and its listeners go', async () => {
  const tag = document.createElement('script');
  tag.dataset.src = 'https://cdn.example.net/vigil.min.js';
  document.head.append(tag);
  setCurrentScript(tag);
  await import('../src/loader');
  w.Vigil.init({ endpoint: server.url, projectId: 'shop', key: 'pk_opts', errors: false, cookieless: true });
  w.Vigil.track('queued');
  dispatchEvent(new ErrorEvent('error', { error: new Error('held'), message: 'Uncaught Error: held' }));
  dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: new Error('held too') }));

  const removed = vi.spyOn(window, 'removeEventListener');
  setCurrentScript(tag.nextElementSibling as HTMLScriptElement);
  await import('../src/global');
  const [[type, listener, capture], [type2, listener2]] = removed.mock.calls;
  expect([type, capture, type2]).toEqual(['error', true, 'unhandledrejection']);
  expect(listener2).toBe(listener);

  dispatchEvent(new ErrorEvent('error', { error: new Error('live'), message: 'Uncaught Error: live' }));
  w.Vigil.flush();
  await waitFor(() => events().some((ev) => ev.type == 'custom'));
  expect(events().filter((ev) => ev.type == 'error')).toEqual([]);
  expect(events().find((ev) => ev.type == 'custom')!.data).toEqual({ name: 'queued' });
});
