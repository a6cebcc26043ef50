import { beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { ClickData, FormSubmitData, Page } from '../src/contract';
import { onClicks, onFormSubmits, onPageViews } from '../src/track';
import { setVisibility } from './helpers';

type Seen = { type: string; data: Record<string, unknown>; page: Page };
const pages: Seen[] = [];
const clicks: ClickData[] = [];
const forms: FormSubmitData[] = [];
let clock = 0;
let reportTimeOnPage: () => void;

beforeAll(() => {
  document.title = 'Blue Kettle – Shop';
  Object.defineProperty(document, 'referrer', { value: 'https://www.google.com/?q=kettle', configurable: true });
  reportTimeOnPage = onPageViews((type, data, page) => pages.push({ type, data: data as never, page }));
  onClicks((d) => clicks.push(d));
  onFormSubmits((d) => forms.push(d));
});
beforeEach(() => {
  vi.spyOn(performance, 'now').mockImplementation(() => clock);
  pages.length = clicks.length = forms.length = 0;
  document.body.innerHTML = '';
});

/** Report what earlier steps accumulated (a hide and show), then start from zero. */
const settleTime = () => {
  setVisibility('hidden');
  reportTimeOnPage();
  setVisibility('visible');
  pages.length = 0;
};

describe('page views', () => {
  test('one on load, with URL, referrer and title', async () => {
    // The first page view was reported in beforeAll; check it from a fresh subscription.
    const first: Seen[] = [];
    onPageViews((type, data, page) => first.push({ type, data: data as never, page }));
    expect(first).toEqual([
      {
        type: 'page_view',
        data: { navigation_type: 'navigate' },
        page: { url: 'http://shop.example.com/products/42?ref=mail', referrer: 'https://www.google.com/?q=kettle', title: 'Blue Kettle – Shop' },
      },
    ]);
  });

  test('SPA navigation: time on the old page, then a page view whose referrer is the old URL', () => {
    const before = location.href;
    settleTime();
    clock += 12_000;
    history.pushState({}, '', '/cart?session=s3cret');
    expect(pages).toEqual([
      { type: 'time_on_page', data: { duration: expect.any(Number) }, page: { url: before } },
      {
        type: 'page_view',
        data: { navigation_type: 'spa' },
        page: { url: 'http://shop.example.com/cart?session=[Filtered]', referrer: before, title: 'Blue Kettle – Shop' },
      },
    ]);
    expect(pages[0].data.duration).toBe(12_000);
  });

  test('replaceState to the same URL is not a page view; a new path by popstate is', () => {
    history.replaceState({ step: 2 }, '', location.href);
    expect(pages).toEqual([]);
    history.replaceState({}, '', '/checkout');
    history.replaceState({}, '', '/checkout/shipping');
    dispatchEvent(new PopStateEvent('popstate'));
    const urls = pages.filter((p) => p.type == 'page_view').map((p) => p.page.url);
    expect(urls).toEqual(['http://shop.example.com/checkout', 'http://shop.example.com/checkout/shipping']);
  });

  test('a change of the hash alone (a `#!` placeholder link) is not a page view', () => {
    document.body.innerHTML = '<a href="#!">More</a><a href="#">Top</a>';
    settleTime();
    document.querySelectorAll('a').forEach((a) => {
      location.hash = a.getAttribute('href')!;
      dispatchEvent(new HashChangeEvent('hashchange'));
      dispatchEvent(new PopStateEvent('popstate'));
    });
    history.pushState({}, '', '#section-2');
    expect(pages).toEqual([]);
    history.pushState({}, '', '/products/43#!');
    expect(pages.filter((p) => p.type == 'page_view').map((p) => p.page.url)).toEqual(['http://shop.example.com/products/43#!']);
  });

  test('with hashRouting, a new hash is a page view', () => {
    const routed: Seen[] = [];
    onPageViews((type, data, page) => routed.push({ type, data: data as never, page }), true);
    routed.length = 0;
    location.hash = '#/payment';
    dispatchEvent(new HashChangeEvent('hashchange'));
    history.replaceState({}, '', location.pathname + '#/shipping');
    const views = routed.filter((p) => p.type == 'page_view');
    expect(views.map((p) => [p.data.navigation_type, p.page.url!.replace(/^.*#/, '#')])).toEqual([
      ['spa', '#/payment'],
      ['spa', '#/shipping'],
    ]);
    history.replaceState({}, '', '/products/43#!'); // back to the URL of the other subscriptions' last view
  });

  test('a page restored from the back/forward cache is a new view', () => {
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }));
    expect(pages.map((p) => p.data.navigation_type)).toEqual(['back_forward']);
  });
});

describe('time on page', () => {
  test('pagehide before visibilitychange (a closing tab) reports once', () => {
    settleTime();
    clock += 3_000;
    reportTimeOnPage(); // pagehide, page still visible
    clock += 50;
    setVisibility('hidden');
    reportTimeOnPage(); // then visibilitychange
    setVisibility('visible');
    expect(pages.map((p) => p.data.duration)).toEqual([3_000]);
  });

  test('counts visible time only, reported when the page is hidden', () => {
    settleTime();
    clock += 5_000;
    setVisibility('hidden');
    reportTimeOnPage();
    clock += 60_000; // hidden: not counted
    setVisibility('visible');
    clock += 2_000;
    setVisibility('hidden');
    reportTimeOnPage();
    dispatchEvent(new Event('pagehide'));
    reportTimeOnPage(); // pagehide after hide: nothing new, nothing sent
    setVisibility('visible');
    expect(pages.map((p) => p.data.duration)).toEqual([5_000, 2_000]);
    expect(pages.every((p) => p.type == 'time_on_page' && p.page.url == location.href)).toBe(true);
  });
});

describe('clicks', () => {
  const click = (el: Element, init: MouseEventInit = {}) =>
    el.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: 100, clientY: 200, ...init }));

  test('selector, id, text, coordinates and data-vigil-* attributes of the clicked control', () => {
    document.body.innerHTML =
      '<main><button id="buy" class="btn-primary" data-vigil-product="42" data-other="x"><span>Add to  cart</span></button></main>';
    click(document.querySelector('span')!);
    expect(clicks).toEqual([
      { selector: 'button#buy.btn-primary', element_id: 'buy', text: 'Add to cart', x: expect.any(Number), y: expect.any(Number), attributes: { 'data-vigil-product': '42' } },
    ]);
  });

  test('links of one nav bar: the same selector, each with its own text and href (secrets filtered)', () => {
    document.body.innerHTML =
      '<nav class="menu"><a class="nav-link" href="/">Home</a><a class="nav-link" href="/about?token=t1">  About\n us </a>' +
      '<a class="nav-link" href="mailto:ann@example.com">Contact</a></nav>';
    document.querySelector('nav')!.addEventListener('click', (e) => e.preventDefault()); // stay on this page
    document.querySelectorAll('a').forEach((a) => click(a, { cancelable: true }));
    expect(clicks.map((c) => [c.selector, c.text, c.href])).toEqual([
      ['body > nav.menu > a.nav-link', 'Home', 'http://shop.example.com/'],
      ['body > nav.menu > a.nav-link', 'About us', 'http://shop.example.com/about?token=[Filtered]'],
      // an address (mailto:, tel:, javascript:) keeps only its scheme
      ['body > nav.menu > a.nav-link', 'Contact', 'mailto:'],
    ]);
  });

  test('no href for buttons; a long text is cut', () => {
    document.body.innerHTML = `<button>${'Buy '.repeat(40)}</button>`;
    click(document.querySelector('button')!);
    expect(clicks[0].href).toBeUndefined();
    expect(clicks[0].text).toHaveLength(64);
  });

  test('seen even when the page stops propagation', () => {
    document.body.innerHTML = '<a href="#x">Link</a>';
    document.querySelector('a')!.addEventListener('click', (e) => e.stopPropagation());
    click(document.querySelector('a')!);
    expect(clicks).toHaveLength(1);
  });

  test('never the text of a field, never of a whole container', () => {
    document.body.innerHTML = '<input id="email" value="me@example.com"><div id="wrap"><p>secret</p><p>stuff</p></div>';
    click(document.querySelector('input')!);
    click(document.querySelector('#wrap')!);
    expect(clicks.map((c) => c.text)).toEqual([undefined, undefined]);
    expect(clicks.map((c) => c.element_id)).toEqual(['email', 'wrap']);
  });

  test('data-vigil-ignore opts an element and its children out', () => {
    document.body.innerHTML = '<div data-vigil-ignore><button>Private</button></div><button>Public</button>';
    document.querySelectorAll('button').forEach((b) => click(b));
    expect(clicks.map((c) => c.text)).toEqual(['Public']);
  });
});

describe('form submits', () => {
  test('id, name, action and method; never a field value', () => {
    document.body.innerHTML =
      '<form id="checkout" name="checkout" action="/checkout?token=t" method="post"><input name="card" value="4111 1111 1111 1111"></form>';
    document.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    expect(forms).toEqual([{ form_id: 'checkout', form_name: 'checkout', action: 'http://shop.example.com/checkout?token=[Filtered]', method: 'POST' }]);
    expect(JSON.stringify(forms)).not.toContain('4111');
  });

  test('inputs named "action", "name" or "id" do not leak into the event', () => {
    document.body.innerHTML = '<form><input name="action" value="delete"><input name="name" value="Bob"><input name="id" value="7"></form>';
    document.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
    expect(forms).toEqual([{ action: location.href.split('#')[0], method: 'GET' }]);
  });

  test('data-vigil-ignore', () => {
    document.body.innerHTML = '<form data-vigil-ignore id="login"></form>';
    document.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
    expect(forms).toEqual([]);
  });
});
