/**
 * Never break the host page: each SDK module in turn is replaced by one whose every
 * function throws, the page then does what pages do (fetch, XHR, navigate, log, click,
 * submit, fail, hide), and the page must see exactly what it would see without Vigil.
 * Where the broken module is not on the sending path, the rest of the SDK keeps working.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { setVisibility, startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;
const leaked: unknown[] = [];
const hostConsoleError = vi.fn();

beforeAll(async () => {
  server = await startServer({ '/api/data': (_req, res) => res.writeHead(200).end('payload') });
  console.error = hostConsoleError;
  // Anything thrown by SDK code inside an event listener surfaces here.
  addEventListener('error', (e) => {
    const message = (e as ErrorEvent).error?.message || '';
    if (message.includes('injected')) leaked.push((e as ErrorEvent).error);
  });
});
afterAll(() => server.close());
afterEach(() => {
  vi.doUnmock(current);
  vi.resetModules();
  delete (window as unknown as Record<string, unknown>).__vigil__;
});

let current = '';
const thrower = (name: string) => () => {
  throw new Error('injected failure in ' + current + ' ' + name);
};
const broken = (value: unknown, name: string): unknown =>
  typeof value == 'function'
    ? thrower(name)
    : value && typeof value == 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v == 'function' ? thrower(name + '.' + k) : v]))
      : value;

/** What a page does; every step must behave exactly as without Vigil. */
const livePage = async () => {
  const response = await fetch(server.url + '/api/data');
  expect(await response.text()).toBe('payload');

  const xhr = new XMLHttpRequest();
  xhr.open('GET', server.url + '/api/data');
  const loaded = new Promise((resolve) => xhr.addEventListener('loadend', resolve));
  xhr.send();
  await loaded;
  expect(xhr.responseText).toBe('payload');

  history.pushState({ n: 1 }, '', '/spa-' + current.replace(/\W/g, ''));
  expect(location.pathname).toBe('/spa-' + current.replace(/\W/g, ''));
  expect(history.state).toEqual({ n: 1 });

  hostConsoleError.mockClear();
  console.error('host log', 1);
  expect(hostConsoleError).toHaveBeenCalledWith('host log', 1);

  document.body.innerHTML = '<button id="b">Go</button><form id="f"></form><img src="http://cdn.invalid/x.png">';
  const hostClick = vi.fn();
  document.querySelector('button')!.addEventListener('click', hostClick);
  document.querySelector('button')!.click();
  expect(hostClick).toHaveBeenCalledTimes(1);
  document.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
  document.querySelector('img')!.dispatchEvent(new Event('error'));
  dispatchEvent(new ErrorEvent('error', { error: new Error('host bug'), message: 'host bug' }));
  dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: new Error('host rejection') }));
  setVisibility('hidden');
  dispatchEvent(new Event('pagehide'));
  setVisibility('visible');
};

const publicApi = (Vigil: typeof import('../src/index')) => {
  Vigil.track('t', { a: 1 });
  Vigil.identify('u');
  Vigil.setTag('k', 'v');
  Vigil.captureException(new Error('caught'));
  Vigil.captureMessage('m');
  Vigil.addBreadcrumb('c', 'm');
  Vigil.setConsent(true);
  Vigil.flush();
};

// Modules whose failure leaves the sending path intact: page views and clicks still arrive.
const OFF_PATH = ['vitals', 'navigation', 'resources', 'errors', 'stack', 'breadcrumbs', 'api', 'lib/selector', 'lib/onHidden'];
const ON_PATH = ['track', 'session', 'queue', 'transport', 'options', 'lib/uid', 'lib/scrub', 'lib/storage', 'lib/now', 'lib/cut', 'lib/matches'];

describe.each([...OFF_PATH, ...ON_PATH])('with a broken %s module', (module) => {
  test('the page works exactly as without Vigil', async () => {
    current = '../src/' + module;
    vi.doMock(current, async (importOriginal) => {
      const original = await importOriginal<Record<string, unknown>>();
      return Object.fromEntries(Object.entries(original).map(([k, v]) => [k, broken(v, k)]));
    });
    const Vigil = await import('../src/index');
    const project = 'p-' + module.replace(/\W/g, '-');
    expect(() => Vigil.init({ endpoint: server.url, projectId: project, key: 'k', batchSize: 50 })).not.toThrow();
    await livePage();
    expect(() => publicApi(Vigil)).not.toThrow();
    expect(leaked).toEqual([]);
    if (OFF_PATH.includes(module)) {
      const mine = () => server.requests.filter((r) => r.url.startsWith('/api/' + project + '/')).map((r) => r.body).join();
      await waitFor(() => mine().includes('"page_view"') && mine().includes('"custom"'), 10_000);
    }
  });
});

// The same, with the failure arriving later: the factory works, then every method of
// what it built throws (a queue that cannot push, a transport that cannot send…).
describe.each([
  ['queue', 'createQueue'],
  ['transport', 'createTransport'],
  ['session', 'createSession'],
  ['breadcrumbs', 'createBreadcrumbs'],
])('with a %s that fails after it started', (module, factory) => {
  test('the page works exactly as without Vigil', async () => {
    current = '../src/' + module;
    vi.doMock(current, async (importOriginal) => {
      const original = await importOriginal<Record<string, (...a: unknown[]) => object>>();
      const failingLater = (...args: unknown[]) =>
        new Proxy(original[factory](...args), {
          get: (target, key) => (typeof (target as Record<PropertyKey, unknown>)[key] == 'function' ? thrower(String(key)) : (target as Record<PropertyKey, unknown>)[key]),
        });
      return { ...original, [factory]: failingLater };
    });
    const Vigil = await import('../src/index');
    expect(() => Vigil.init({ endpoint: server.url, projectId: 'late-' + module, key: 'k' })).not.toThrow();
    await livePage();
    expect(() => publicApi(Vigil)).not.toThrow();
    expect(leaked).toEqual([]);
  });
});
