/**
 * The loader snippet (src/loader.ts) and the SDK's take-over (global.ts): errors, rejections
 * and resource failures from before the SDK arrived are sent as if the SDK had seen them
 * live — same kinds, stacks and URLs, the time and page of when they happened — and once.
 */
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import type { ErrorData, VigilEvent } from '../src/contract';
import { startServer, waitFor, type LocalServer } from './helpers';

type Api = typeof import('../src/index');
const w = window as unknown as { Vigil: Api };
let server: LocalServer;
let loaderTag: HTMLScriptElement;

const setCurrentScript = (script: HTMLScriptElement) => Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
const errors = () =>
  server
    .envelopes()
    .flatMap((e) => e.events)
    .filter((e): e is VigilEvent & { data: ErrorData } => e.type == 'error');

beforeAll(async () => {
  server = await startServer();
  loaderTag = document.createElement('script');
  Object.assign(loaderTag.dataset, { src: 'https://cdn.example.net/vigil.min.js', endpoint: server.url, projectId: 'shop', key: 'pk_loader', release: 'shop@4', cookieless: '' });
  document.head.append(loaderTag);
  setCurrentScript(loaderTag);
  await import('../src/loader');
});
afterAll(async () => {
  // The first page view goes a task after the start: let it arrive before the server goes.
  await waitFor(() => {
    w.Vigil.flush();
    return server.envelopes().some((e) => e.events.some((ev) => ev.type == 'page_view'));
  });
  await server.close();
});

test('the snippet injects the async SDK right after itself, with the same data- attributes', () => {
  const injected = loaderTag.nextElementSibling as HTMLScriptElement;
  expect(injected.tagName).toBe('SCRIPT');
  expect(injected.src).toBe('https://cdn.example.net/vigil.min.js');
  expect(injected.async).toBe(true);
  expect({ ...injected.dataset }).toEqual({ ...loaderTag.dataset });
  expect(typeof w.Vigil.track).toBe('function'); // the API is stubbed: calls are queued
});

test('what happened before the SDK arrived is sent once, with its own time, page and resource URL', async () => {
  const now = vi.spyOn(Date, 'now');
  // A failing image whose page then swaps in a fallback, as `onerror` handlers do.
  document.body.innerHTML = '<img src="https://cdn.example.net/hero.webp">';
  const img = document.querySelector('img')!;
  now.mockReturnValue(Date.parse('2026-01-02T03:04:05.100Z'));
  img.dispatchEvent(new Event('error'));
  img.src = 'https://cdn.example.net/fallback.png';
  let thrown: Error;
  try {
    JSON.parse('{');
  } catch (e) {
    thrown = e as Error;
  }
  now.mockReturnValue(Date.parse('2026-01-02T03:04:05.200Z'));
  dispatchEvent(new ErrorEvent('error', { error: thrown!, message: 'Uncaught ' + thrown!.message, filename: 'http://shop.example.com/static/boot.js', lineno: 3, colno: 9 }));
  history.pushState(null, '', '/checkout');
  now.mockReturnValue(Date.parse('2026-01-02T03:04:05.300Z'));
  dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: new RangeError('quota') }));
  w.Vigil.track('before-sdk');
  now.mockRestore();

  // The SDK arrives: it is the injected script, starting from its data- attributes.
  setCurrentScript(loaderTag.nextElementSibling as HTMLScriptElement);
  await import('../src/global');
  expect(w.Vigil.SDK).toBeDefined();
  // After the take-over, a failure is seen by the SDK alone: once, not also by the snippet.
  img.dispatchEvent(new Event('error'));
  w.Vigil.flush();
  await waitFor(() => errors().length >= 4 && server.envelopes().some((e) => e.events.some((ev) => ev.type == 'custom')));
  await new Promise((r) => setTimeout(r, 100)); // nothing doubled arrives late
  w.Vigil.flush();

  const [resource, js, promise, live] = errors();
  expect(errors()).toHaveLength(4);
  expect(resource.timestamp).toBe('2026-01-02T03:04:05.100Z');
  expect(resource.page!.url).toBe('http://shop.example.com/products/42?ref=mail');
  expect(resource.data).toMatchObject({ kind: 'resource', message: 'Failed to load img', source: 'https://cdn.example.net/hero.webp', element: 'img' });
  expect(js.timestamp).toBe('2026-01-02T03:04:05.200Z');
  expect(js.data).toMatchObject({ kind: 'js', type: 'SyntaxError', message: thrown!.message, source: 'http://shop.example.com/static/boot.js', lineno: 3, colno: 9, handled: false });
  expect(js.data.frames!.length).toBeGreaterThan(0);
  expect(promise.timestamp).toBe('2026-01-02T03:04:05.300Z');
  expect(promise.page!.url).toBe('http://shop.example.com/checkout');
  expect(promise.data).toMatchObject({ kind: 'promise', type: 'RangeError', message: 'quota', handled: false });
  // the live one names the image's current URL, at the time it happened
  expect(live.data.source).toBe('https://cdn.example.net/fallback.png');
  expect(Date.parse(live.timestamp)).toBeGreaterThan(Date.parse('2026-01-03T00:00:00Z'));
  const custom = server.envelopes().flatMap((e) => e.events).filter((e) => e.type == 'custom');
  expect(custom.map((e) => e.data)).toEqual([{ name: 'before-sdk' }]);
});
