/**
 * Main-thread budget: no task the SDK runs takes more than 5 ms of main-thread CPU.
 *
 * A Chromium trace (category devtools.timeline) of a whole visit (load, clicks, errors, failed fetch, SPA navigation,
 * hidden page) gives every task that enters SDK code — the script's evaluation with
 * init(), its timers and its event listeners — with its thread time (`tdur`), which,
 * unlike wall time, does not grow when a busy machine preempts the browser. The worst SDK
 * task of each visit is taken; the median of three visits must be within the budget.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, startReceiver, startSite } from './harness.mjs';

const BUDGET_MS = 5;
const VISITS = 3;
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

const visit = async () => {
  const page = await browser.newPage();
  await browser.startTracing(page, { categories: ['devtools.timeline'] });
  await page.goto(site.url + '/', { waitUntil: 'load' });
  await page.waitForFunction(() => window.Vigil && window.Vigil.SDK);
  for (let i = 0; i < 10; i++) await page.click('#buy');
  for (const button of ['#crash', '#reject', '#broken-image', '#failing-fetch', '#subscribe', '#spa']) await page.click(button);
  await page.waitForTimeout(1500);
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  });
  const trace = JSON.parse(await browser.stopTracing());
  await page.close();
  const sdkTasks = (trace.traceEvents || trace).filter(
    (e) => ['EvaluateScript', 'FunctionCall', 'TimerFire'].includes(e.name) && e.tdur && JSON.stringify(e.args || {}).includes('/vigil.min.js'),
  );
  assert.ok(sdkTasks.length > 10, 'the trace attributes tasks to the SDK');
  const longest = sdkTasks.sort((a, b) => b.tdur - a.tdur).slice(0, 3);
  console.log('longest SDK tasks (thread ms / wall ms):', longest.map((e) => `${e.name} ${(e.tdur / 1000).toFixed(2)}/${(e.dur / 1000).toFixed(2)}`).join(', '));
  return Math.max(...sdkTasks.map((e) => e.tdur / 1000));
};

test(`no SDK task takes more than ${BUDGET_MS} ms of main-thread time`, async () => {
  const worst = [];
  for (let i = 0; i < VISITS; i++) worst.push(await visit());
  worst.sort((a, b) => a - b);
  console.log(`worst SDK task per visit (ms of thread time): ${worst.map((ms) => ms.toFixed(2)).join(', ')}`);
  assert.ok(worst[VISITS >> 1] <= BUDGET_MS, `median worst task ${worst[VISITS >> 1].toFixed(2)} ms`);
});
