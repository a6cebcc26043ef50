/** The cookieless mode stores nothing on the device, even when events cannot be sent. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { setVisibility, startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;

beforeAll(async () => {
  localStorage.clear();
  server = await startServer();
  const Vigil = await import('../src/index');
  Vigil.init({ endpoint: server.url, projectId: 'shop', key: 'pk', cookieless: true });
  Vigil.identify('user-7');
  Object.defineProperty(navigator, 'onLine', { value: false, configurable: true });
  Vigil.track('offline');
  setVisibility('hidden'); // offline and hidden: a normal page would store the queue
});
afterAll(() => server.close());

test('nothing in localStorage, and ids marked anonymous for the processor', async () => {
  expect(localStorage.length).toBe(0);
  Object.defineProperty(navigator, 'onLine', { value: true, configurable: true });
  dispatchEvent(new Event('online'));
  await waitFor(() => server.envelopes().length > 0);
  const [envelope] = server.envelopes();
  expect(envelope.context!.visitor_id).toMatch(/^anon_[a-f0-9]{32}$/);
  expect(envelope.events.find((e) => e.type == 'identify')!.user_id).toBe('user-7');
  expect(localStorage.length).toBe(0);
});
