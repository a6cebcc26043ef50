/**
 * Each way of sending, in Chromium: WebSocket, image pixel, and fetch through an offline
 * spell and a page closed while offline (kept in localStorage, sent by the next page load).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, startReceiver, startSite, waitFor } from './harness.mjs';

let browser;
let receiver;
let site;

before(async () => {
  receiver = await startReceiver();
  site = await startSite(receiver.url);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await site?.close();
  await receiver?.close();
});

const open = async (context, query = '') => {
  const page = await context.newPage();
  await page.goto(site.url + '/' + query, { waitUntil: 'load' });
  await page.waitForFunction(() => window.Vigil && window.Vigil.SDK);
  return page;
};
/**
 * Playwright's setOffline can return before a page under load sees it: navigator.onLine
 * still true and its requests still going out. Wait until the page itself is offline.
 */
const goOffline = async (context, page) => {
  await context.setOffline(true);
  await page.waitForFunction(() => navigator.onLine === false);
};
const custom = (name) => receiver.events().find((e) => e.type === 'custom' && e.data.name === name);

test('WebSocket: envelopes as text messages, answered one by one', async () => {
  const page = await open(browser, '?transport=websocket');
  await page.evaluate(() => {
    Vigil.track('over-websocket');
    Vigil.flush();
  });
  const event = await waitFor(() => custom('over-websocket'), 'the event over WebSocket');
  assert.equal(event.via, 'websocket');
  assert.ok(receiver.requests.some((r) => r.method === 'WS' && r.key === 'pk_e2e'));
  await page.close();
});

test('image pixel: a GET of pixel.gif with the envelope in d', async () => {
  const page = await open(browser, '?transport=pixel');
  await page.evaluate(() => {
    Vigil.track('over-pixel');
    Vigil.flush();
  });
  const event = await waitFor(() => custom('over-pixel'), 'the event over the pixel');
  assert.equal(event.via, 'pixel');
  await page.close();
});

test('offline and back: nothing lost, nothing doubled', async () => {
  const context = await browser.newContext();
  const page = await open(context);
  await goOffline(context, page);
  await page.evaluate(() => {
    for (let i = 0; i < 5; i++) Vigil.track('offline-' + i);
    Vigil.flush();
  });
  await page.click('#failing-fetch'); // fails: network error while offline
  await page.waitForTimeout(500);
  assert.equal(custom('offline-0'), undefined, 'nothing can arrive while offline');
  await context.setOffline(false);
  await waitFor(() => custom('offline-4'), 'the offline events after reconnecting');
  const names = receiver.events().filter((e) => e.type === 'custom' && e.data.name.startsWith('offline-')).map((e) => e.data.name);
  assert.deepEqual(names, ['offline-0', 'offline-1', 'offline-2', 'offline-3', 'offline-4']);
  const network = receiver.events().find((e) => e.type === 'error' && e.data.request?.failure === 'network');
  assert.ok(network, 'the fetch that failed offline is reported as a network failure');
  await context.close();
});

test('a page closed while offline: its events are kept and sent by the next page load', async () => {
  const context = await browser.newContext();
  const first = await open(context);
  const next = await context.newPage(); // keeps the context (and its localStorage) alive
  await goOffline(context, first);
  await first.evaluate(() => Vigil.track('closed-offline'));
  const closed = new Promise((resolve) => first.once('close', resolve));
  await first.close({ runBeforeUnload: true });
  await closed;
  assert.equal(custom('closed-offline'), undefined);
  await context.setOffline(false);
  await next.goto(site.url + '/', { waitUntil: 'load' });
  const event = await waitFor(() => custom('closed-offline'), 'the stored event, sent by the next page');
  assert.equal(event.via, 'fetch');
  // The closing page saw itself offline, so it started no request: one copy, from storage.
  const copies = receiver.events().filter((e) => e.type === 'custom' && e.data.name === 'closed-offline');
  assert.equal(copies.length, 1, 'sent once');
  assert.equal(await next.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('vigil.q.')).length), 0);
  await context.close();
});
