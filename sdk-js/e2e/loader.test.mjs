/**
 * The loader snippet in Chromium: a page whose image fails, whose boot script throws and
 * whose promise is rejected — all before the SDK script arrives (the site holds it back
 * DELAY_MS). With the snippet, each reaches the collector once, with its kind, stack or URL
 * and the time it happened; with the plain async tag, none does (what the snippet is for).
 * Under a strict nonce CSP the SDK the snippet injects runs too (it carries the nonce).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { launchChromium, startReceiver, waitFor } from './harness.mjs';

const DELAY_MS = 1500;
const dist = new URL('../dist/', import.meta.url).pathname;
const ATTRIBUTES = 'data-endpoint="{{COLLECTOR}}" data-project-id="e2e" data-key="pk_e2e" data-environment="e2e"';
const HEAD = {
  '/loader': `<script data-src="/vigil.min.js" ${ATTRIBUTES}>\n${readFileSync(dist + 'loader.min.js', 'utf8')}\n</script>\n<script>Vigil.track('called-before-sdk');</script>`,
  '/tag': `<script async src="/vigil.min.js" ${ATTRIBUTES}></script>`,
};
// A strict CSP: only scripts with the nonce run, so the SDK runs only if the snippet passes it on.
const CSP_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>nonce</title>
<script nonce="n0nce" data-src="/vigil.min.js" ${ATTRIBUTES}>\n${readFileSync(dist + 'loader.min.js', 'utf8')}\n</script>
</head><body><script nonce="n0nce">throw new Error('under a strict CSP');</script></body></html>`;
const page = (head) => readFileSync(new URL('fixtures/early.html', import.meta.url), 'utf8').replace('{{SDK}}', head);

let browser;
let receiver;
let site;
let siteUrl;
const sdkSentAt = [];

before(async () => {
  receiver = await startReceiver();
  site = createServer((req, res) => {
    const path = new URL(req.url, 'http://site').pathname;
    if (path === '/vigil.min.js')
      return setTimeout(() => {
        sdkSentAt.push(Date.now());
        res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(readFileSync(dist + 'vigil.min.js'));
      }, DELAY_MS);
    if (path === '/csp')
      return res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "script-src 'nonce-n0nce'" }).end(CSP_PAGE.replaceAll('{{COLLECTOR}}', receiver.url));
    if (!HEAD[path]) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(HEAD[path]).replaceAll('{{COLLECTOR}}', receiver.url));
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${site.address().port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  site?.closeAllConnections();
  await new Promise((resolve) => site?.close(resolve));
  await receiver?.close();
});

const eventsOf = (path) => receiver.events().filter((e) => e.page?.url === siteUrl + path);
const errorsOf = (path) => eventsOf(path).filter((e) => e.type === 'error');

/** Open the page, wait for the (late) SDK, then return what the page recorded and the SDK's arrival. */
const visit = async (path) => {
  const tab = await browser.newPage();
  await tab.goto(siteUrl + path, { waitUntil: 'load' });
  await tab.waitForFunction(() => window.Vigil && window.Vigil.SDK, null, { timeout: DELAY_MS + 20000 });
  const early = await tab.evaluate(() => window.early);
  await waitFor(() => {
    tab.evaluate(() => window.Vigil.flush()).catch(() => undefined);
    return eventsOf(path).some((e) => e.type === 'page_view');
  }, 'the page view of ' + path, 20000);
  return { tab, early, arrived: sdkSentAt.at(-1) };
};

/**
 * `at` is when the page saw it happen; the event's timestamp must be then (give or take a busy
 * machine's scheduling: the snippet notes a failed image just before the image's own onerror,
 * compiled on first use, does), not the SDK's arrival DELAY_MS later.
 */
const assertTimed = (event, at, arrived) => {
  const t = Date.parse(event.timestamp);
  assert.ok(t >= at - 100 && t <= at + 500, `${event.data.message}: timestamp ${event.timestamp} is when it happened (${new Date(at).toISOString()})`);
  assert.ok(t < arrived - DELAY_MS / 2, `${event.data.message}: before the SDK arrived`);
};

test('with the plain async tag, what fails before the SDK arrives is lost', async () => {
  const { tab } = await visit('/tag');
  await tab.waitForTimeout(300);
  await tab.close();
  assert.deepEqual(errorsOf('/tag'), []);
});

test('with the loader snippet, the image, the thrown error and the rejection arrive once each, timed when they happened', async () => {
  const { tab, early, arrived } = await visit('/loader');
  assert.ok(early.image && early.thrown && early.rejected, 'the page saw all three before the SDK');
  await waitFor(() => {
    tab.evaluate(() => window.Vigil.flush()).catch(() => undefined);
    return errorsOf('/loader').length >= 3;
  }, 'the three early errors', 20000);

  // After the take-over the SDK alone listens: a failure now is reported once, not twice.
  await tab.evaluate(() => {
    const img = new Image();
    img.src = '/missing-later.png';
    document.body.append(img);
    setTimeout(() => {
      throw new Error('after the SDK');
    });
  });
  await waitFor(() => {
    tab.evaluate(() => window.Vigil.flush()).catch(() => undefined);
    return errorsOf('/loader').length >= 5;
  }, 'the two live errors', 20000);
  await tab.waitForTimeout(500);
  await tab.evaluate(() => window.Vigil.flush());
  await tab.waitForTimeout(300);
  await tab.close();

  const errors = errorsOf('/loader');
  assert.deepEqual(
    errors.map((e) => [e.data.kind, e.data.message]).sort(),
    [
      ['js', 'after the SDK'],
      ['js', 'boot failed: no config'],
      ['promise', 'config fetch failed'],
      ['resource', 'Failed to load img'],
      ['resource', 'Failed to load img'],
    ],
  );
  const [image, later] = errors.filter((e) => e.data.kind === 'resource');
  assert.deepEqual([image.data.source, image.data.element], [siteUrl + '/missing.png', 'img']);
  assert.equal(later.data.source, siteUrl + '/missing-later.png');
  assertTimed(image, early.image, arrived);

  const thrown = errors.find((e) => e.data.message === 'boot failed: no config');
  assert.equal(thrown.data.type, 'TypeError');
  assert.equal(thrown.data.handled, false);
  assert.equal(thrown.data.frames[0].function, 'boot');
  assert.equal(thrown.data.frames[0].filename, siteUrl + '/loader');
  assertTimed(thrown, early.thrown, arrived);

  const rejection = errors.find((e) => e.data.kind === 'promise');
  assert.equal(rejection.data.type, 'Error');
  assert.equal(rejection.data.handled, false);
  assertTimed(rejection, early.rejected, arrived);

  assert.deepEqual(eventsOf('/loader').filter((e) => e.type === 'custom').map((e) => e.data), [{ name: 'called-before-sdk' }]);
  assert.equal(new Set(receiver.events().map((e) => e.event_id)).size, receiver.events().length, 'no event twice');
});

test('under a strict nonce CSP the snippet passes its nonce on: the SDK runs and sends what came before it', async () => {
  const { tab } = await visit('/csp');
  await waitFor(() => {
    tab.evaluate(() => window.Vigil.flush()).catch(() => undefined);
    return errorsOf('/csp').length;
  }, 'the error under CSP', 20000);
  await tab.close();
  assert.deepEqual(errorsOf('/csp').map((e) => e.data.message), ['under a strict CSP']);
});
