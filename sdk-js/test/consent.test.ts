/** The consent switch: held events, nothing stored or sent until granted, everything removed on withdrawal. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;
let Vigil: typeof import('../src/index');
const types = () => server.envelopes().flatMap((e) => e.events.map((ev) => ev.type));
const settle = () => new Promise((r) => setTimeout(r, 300));

beforeAll(async () => {
  localStorage.clear();
  server = await startServer();
  Vigil = await import('../src/index');
  Vigil.init({ endpoint: server.url, projectId: 'shop', key: 'pk', consent: false });
});
afterAll(() => server.close());

test('without consent nothing is sent and nothing is stored', async () => {
  Vigil.track('before-consent');
  Vigil.identify('user-1');
  Vigil.flush();
  await settle();
  expect(server.requests).toEqual([]);
  expect(localStorage.length).toBe(0);
});

test('granting consent sends what was held and starts storing ids', async () => {
  Vigil.setConsent(true);
  Vigil.flush();
  await waitFor(() => types().includes('custom'));
  expect(types()).toEqual(expect.arrayContaining(['page_view', 'custom', 'identify']));
  const [envelope] = server.envelopes();
  expect(envelope.context!.visitor_id).toMatch(/^[a-f0-9]{32}$/); // a stored id, not an anon_ one
  expect(localStorage.getItem('vigil.vid')).toBe(envelope.context!.visitor_id);
  expect(localStorage.getItem('vigil.uid')).toBe('user-1');
});

test('withdrawing consent removes what the SDK stored and holds new events', async () => {
  Vigil.setConsent(false);
  expect(localStorage.length).toBe(0);
  const before = server.requests.length;
  Vigil.track('after-withdrawal');
  Vigil.flush();
  await settle();
  expect(server.requests.length).toBe(before);
  expect(localStorage.length).toBe(0);
});
