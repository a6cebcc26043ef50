/**
 * Start-up is split over tasks (init → connect → vitals): what a page does before the
 * SDK is connected is kept and sent, including a page hidden in the same task as init().
 */
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { setVisibility, startServer, waitFor, type LocalServer } from './helpers';

let server: LocalServer;

beforeAll(async () => {
  localStorage.clear();
  localStorage.setItem('vigil.uid', 'stored-user');
  server = await startServer();
});
afterAll(() => server.close());

test('events from the init task are delivered once connected, with session and stored user', async () => {
  const Vigil = await import('../src/index');
  Vigil.init({ endpoint: server.url, projectId: 'shop', key: 'pk', batchSize: 1000 });
  // Same task as init(): nothing is connected yet.
  Vigil.track('right-after-init');
  document.body.innerHTML = '<button id="early">Early</button>';
  document.querySelector('button')!.click();
  Vigil.flush(); // remembered until the queue exists
  await waitFor(() => server.envelopes().length > 0);
  expect(server.envelopes()[0].events.map((e) => e.type)).toEqual(['custom', 'click']);
  // The first page view comes a task later (with the history hooks).
  await new Promise((r) => setTimeout(r, 20));
  Vigil.flush();
  await waitFor(() => server.envelopes().length > 1);
  const events = server.envelopes().flatMap((e) => e.events);
  expect(events.map((e) => e.type)).toEqual(['custom', 'click', 'page_view']);
  for (const e of events) {
    expect(e.session_id).toMatch(/^[a-f0-9]{32}$/);
    expect(e.user_id).toBe('stored-user');
  }
  expect(new Set(events.map((e) => e.session_id)).size).toBe(1);
});

test('a page hidden before the SDK connected still sends what it had', async () => {
  // A fresh SDK (module state and the started flag reset), hidden in the init task.
  vi.resetModules();
  delete (window as unknown as Record<string, unknown>).__vigil__;
  const Vigil = await import('../src/index');
  const before = server.requests.length;
  Vigil.init({ endpoint: server.url, projectId: 'hidden-early', key: 'pk' });
  Vigil.track('then-hidden');
  setVisibility('hidden');
  setVisibility('visible');
  await waitFor(() => server.requests.slice(before).some((r) => r.url.startsWith('/api/hidden-early/') && r.body.includes('then-hidden')));
});
