/**
 * A poison event in Chromium: the receiver answers 500 to every batch that holds it (as a
 * collector failing on one event would) and 202 to the rest. The SDK must split the batch,
 * deliver every other event exactly once, give the poison up (saying so in its debug
 * output) and drain its queue.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useBench, waitFor } from './harness.mjs';

const POISON = 'poison-marker';
const bench = useBench({ failWith: (body) => (body.includes(POISON) ? 500 : undefined) });

const accepted = () => bench.receiver.requests.filter((r) => r.status === 202 && r.envelope).flatMap((r) => r.envelope.events);
const poisoned = () => bench.receiver.requests.filter((r) => r.status === 500);

test('a batch with a poison event is split: the others arrive once, the poison is dropped and reported, the queue drains', async () => {
  const page = await bench.browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto(bench.site.url + '/stub', { waitUntil: 'load' });
  await page.waitForFunction(() => window.Vigil && window.Vigil.SDK);
  const names = ['before-1', 'before-2', POISON, 'after-1', 'after-2', 'after-3', 'after-4'];
  await page.evaluate((names) => {
    names.forEach((name) => Vigil.track(name));
    Vigil.flush();
  }, names);

  const gaveUp = await waitFor(() => logs.find((l) => l.startsWith('[vigil] gave up on an event')), 'the poison given up', 45_000);
  assert.match(gaveUp, /gave up on an event, 1 so far/);
  assert.ok(gaveUp.includes(POISON), 'the debug output names the event');
  const delivered = () => accepted().filter((e) => e.type === 'custom').map((e) => e.data.name);
  await waitFor(() => delivered().includes('after-4'), 'the events behind the poison', 20_000);

  // Split down to the poison alone: its last batches held nothing else.
  assert.deepEqual(poisoned().at(-1).envelope.events.map((e) => e.data?.name), [POISON]);
  assert.ok(poisoned()[0].envelope.events.length > 1, 'the poison first failed in a batch with others');
  // Every other event exactly once, the poison never accepted.
  assert.deepEqual(delivered().sort(), names.filter((n) => n !== POISON).sort());
  const ids = accepted().map((e) => e.event_id);
  assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');

  // Drained: nothing more for the poison, nothing left in the queue or in storage.
  const tried = poisoned().length;
  await page.evaluate(() => Vigil.track('later'));
  await page.evaluate(() => Vigil.flush());
  await waitFor(() => delivered().includes('later'), 'a later event, sent at once');
  await page.waitForTimeout(2000);
  assert.equal(poisoned().length, tried);
  assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('vigil.q.')).length), 0);
  await page.close();
});
