/**
 * The SDK in a real browser: Debian's Chromium loads the fixture shop with the script-tag
 * bundle, a visitor clicks through every failure the shop has, then closes the tab. What
 * the receiver got must be every event kind, the late Web Vitals and the last words sent
 * by sendBeacon. `npm run test:e2e` (builds first).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

const ofType = (type) => receiver.events().filter((e) => e.type === type);
const errorsOf = (kind) => ofType('error').filter((e) => e.data.kind === kind);
const vital = (name) => ofType('web_vital').find((e) => e.data.name === name);

describe('a visit to the fixture shop', () => {
  let closedAt;

  before(async () => {
    const page = await browser.newPage();
    await page.goto(site.url + '/?utm_source=mail&token=secret', { waitUntil: 'load' });
    await page.waitForFunction(() => window.Vigil && window.Vigil.SDK);
    await page.click('#buy');
    await page.click('#crash');
    await page.click('#reject');
    await page.click('#broken-image');
    await page.click('#failing-fetch');
    await page.click('#slow-xhr');
    await page.click('#subscribe');
    await page.waitForTimeout(1500); // resource timings are read a second after load
    await page.click('#spa');
    await page.waitForTimeout(300);
    closedAt = Date.now();
    await page.close({ runBeforeUnload: true }); // visibilitychange → hidden, pagehide
    // On unload pagehide comes first (one beacon), then visibilitychange, when web-vitals
    // finalises CLS and INP (a second beacon).
    await waitFor(() => ofType('time_on_page').length >= 2 && vital('LCP') && vital('CLS') && vital('INP'), 'the last words of the closed page');
  });

  test('page views: the landing page (secrets stripped) and the SPA navigation', () => {
    const views = ofType('page_view');
    assert.equal(views.length, 2);
    assert.equal(views[0].data.navigation_type, 'navigate');
    assert.equal(views[0].page.url, site.url + '/?utm_source=mail&token=[Filtered]');
    assert.equal(views[0].page.title, 'Vigil fixture shop');
    assert.deepEqual(views[1].data, { navigation_type: 'spa' });
    assert.equal(views[1].page.url, site.url + '/cart');
    assert.equal(views[1].page.referrer, views[0].page.url);
  });

  test('every event carries the context: ids, release, environment', () => {
    for (const e of receiver.events()) {
      assert.match(e.event_id, /^[a-f0-9]{32}$/);
      assert.match(e.session_id, /^[a-f0-9]{32}$/);
      assert.match(e.visitor_id, /^[a-f0-9]{32}$/);
      assert.equal(e.release, 'fixture@1.0.0');
      assert.equal(e.environment, 'e2e');
    }
    assert.equal(new Set(receiver.events().map((e) => e.event_id)).size, receiver.events().length, 'no event twice');
    assert.ok(receiver.requests.every((r) => r.path === '/api/e2e/events' && r.key === 'pk_e2e'));
  });

  // LCP is final at the first input (a click here); the next suite covers a page hidden before any.
  test('Web Vitals: FCP, TTFB, LCP, CLS and INP, LOAD with its breakdown, TTI', () => {
    for (const name of ['FCP', 'TTFB', 'LCP', 'LOAD', 'TTI']) assert.ok(vital(name), name + ' reported');
    assert.ok(vital('FCP').data.value > 0);
    // no rating: the processor rates every vital from contract/vitals.json
    for (const v of ofType('web_vital')) assert.equal(v.data.rating, undefined, v.data.name + ' is not rated by the SDK');
    assert.ok(vital('LCP').data.attribution.target, 'the LCP element is named');
    assert.deepEqual(Object.keys(vital('LOAD').data.breakdown), ['redirect', 'dns', 'tcp', 'tls', 'request', 'response', 'dom', 'load']);
    assert.ok(vital('LOAD').data.value >= vital('TTI').data.value);
    assert.equal(vital('INP').data.attribution.interaction_type, 'pointer');
    assert.ok(vital('INP').data.attribution.target.startsWith('button#'), 'INP names the clicked button');
    assert.ok(vital('CLS'), 'CLS reported on hide');
    // INP is final only when the tab closes, after the SPA navigation to /cart: it names the
    // landing page, where the clicks happened (as LCP does, final at the first click)
    const landing = ofType('page_view')[0].page.url;
    assert.equal(vital('INP').page.url, landing);
    assert.equal(vital('LCP').page.url, landing);
  });

  test('a runtime error with parsed frames from the shop script', () => {
    const [error] = errorsOf('js');
    assert.equal(error.data.type, 'TypeError');
    assert.match(error.data.message, /amount|undefined/);
    assert.equal(error.data.frames[0].filename, site.url + '/app.js');
    assert.equal(error.data.frames[0].function, 'priceOf');
    assert.equal(error.data.frames[0].lineno, 3);
    assert.equal(error.data.frames[0].in_app, true);
    assert.deepEqual(error.data.frames.slice(0, 2).map((f) => f.function), ['priceOf', 'checkout']);
    const categories = error.data.breadcrumbs.map((c) => c.category);
    assert.ok(categories.includes('ui.click'), 'the clicks before the error are in its trail');
  });

  test('an unhandled promise rejection', () => {
    const [rejection] = errorsOf('promise');
    assert.deepEqual([rejection.data.type, rejection.data.message], ['Error', 'cart service unavailable']);
    assert.equal(rejection.data.frames[0].function, 'loadCart');
  });

  test('a resource load error', () => {
    const [resource] = errorsOf('resource');
    assert.deepEqual(resource.data, { kind: 'resource', message: 'Failed to load img', source: site.url + '/missing.png', element: 'img', breadcrumbs: resource.data.breadcrumbs });
  });

  test('API failures: a 500 from fetch and an XHR timeout', () => {
    const failures = errorsOf('api').map((e) => e.data.request);
    assert.deepEqual(
      failures.map((r) => [r.method, r.url, r.status, r.failure]),
      [
        ['POST', site.url + '/api/cart', 500, 'status'],
        ['GET', site.url + '/api/slow', 0, 'timeout'],
      ],
    );
    const calls = ofType('api_call').map((e) => e.data);
    assert.ok(calls.some((c) => c.status === 500 && c.ok === false && c.duration >= 0));
  });

  test('a click with its selector, text, position and data-vigil-* attributes', () => {
    const buy = ofType('click').find((e) => e.data.element_id === 'buy');
    assert.equal(buy.data.selector, 'button#buy.btn-primary');
    assert.equal(buy.data.text, 'Add to cart');
    assert.deepEqual(buy.data.attributes, { 'data-vigil-product': '42' });
    assert.ok(buy.data.x > 0 && buy.data.y > 0);
  });

  test('a form submit without any field value', () => {
    const [submit] = ofType('form_submit');
    assert.deepEqual(submit.data, { action: site.url + '/subscribe?token=[Filtered]', method: 'POST', form_id: 'newsletter', form_name: 'newsletter' });
    assert.ok(!JSON.stringify(receiver.events()).includes('someone@example.com'));
  });

  test('resource timings, slowest first', () => {
    const resources = ofType('resource').map((e) => e.data);
    assert.ok(resources.some((r) => r.name === site.url + '/app.js' && r.initiator_type === 'script'));
    for (let i = 1; i < resources.length; i++) assert.ok(resources[i - 1].duration >= resources[i].duration);
  });

  test('time on page for each page of the visit, the last one on pagehide', () => {
    const times = ofType('time_on_page');
    assert.deepEqual(times.map((e) => e.page.url), [site.url + '/?utm_source=mail&token=[Filtered]', site.url + '/cart']);
    assert.ok(times[0].data.duration > 1000);
    assert.equal(times[1].via, 'beacon');
  });

  test('the closing page sent its last events with sendBeacon', () => {
    const last = receiver.requests.filter((r) => r.at >= closedAt);
    assert.ok(last.length > 0);
    assert.ok(last.every((r) => r.headers['sec-fetch-mode'] === 'no-cors' && r.headers['content-type'].startsWith('text/plain')));
  });
});

describe('a page hidden before any input', () => {
  test('reports LCP and CLS when it is hidden, by beacon', async () => {
    const lcpBefore = ofType('web_vital').filter((e) => e.data.name === 'LCP').length;
    const page = await browser.newPage();
    await page.goto(site.url + '/', { waitUntil: 'load' });
    await page.waitForFunction(() => window.Vigil && window.Vigil.SDK);
    await page.waitForTimeout(300);
    await page.close({ runBeforeUnload: true });
    const lcp = await waitFor(() => ofType('web_vital').filter((e) => e.data.name === 'LCP')[lcpBefore], 'LCP of the hidden page');
    assert.equal(lcp.via, 'beacon');
    assert.equal(lcp.data.attribution.target, 'img#hero.hero');
    assert.equal(lcp.data.attribution.url, site.url + '/hero.png');
    const cls = ofType('web_vital').filter((e) => e.data.name === 'CLS' && e.session_id === lcp.session_id && e.via === 'beacon');
    assert.ok(cls.length > 0, 'CLS on hide');
  });
});

describe('a page that moved on (SPA) before any input, then closed', () => {
  test('its LCP, final only now, names the page where the image painted', async () => {
    const lcpBefore = ofType('web_vital').filter((e) => e.data.name === 'LCP').length;
    const page = await browser.newPage();
    await page.goto(site.url + '/', { waitUntil: 'load' });
    await page.waitForFunction(() => window.Vigil && window.Vigil.SDK);
    await page.waitForTimeout(300);
    await page.evaluate(() => history.pushState({}, '', '/cart'));
    await page.waitForTimeout(100);
    await page.close({ runBeforeUnload: true });
    const lcp = await waitFor(() => ofType('web_vital').filter((e) => e.data.name === 'LCP')[lcpBefore], 'LCP of the closed page');
    assert.equal(lcp.page.url, site.url + '/');
    const views = ofType('page_view').filter((e) => e.session_id === lcp.session_id).map((e) => e.page.url);
    assert.ok(views.includes(site.url + '/cart'), 'the SPA view was reported before');
  });
});

describe('a page closed right after an error', () => {
  test('still delivers the error, by beacon', async () => {
    const before = errorsOf('js').length;
    const page = await browser.newPage();
    await page.goto(site.url + '/', { waitUntil: 'load' });
    await page.waitForFunction(() => window.Vigil && window.Vigil.SDK);
    await page.click('#crash');
    await page.close({ runBeforeUnload: true });
    const error = await waitFor(() => errorsOf('js')[before], 'the error of the closed page');
    assert.equal(error.via, 'beacon');
    assert.equal(error.data.frames[0].function, 'priceOf');
  });
});
