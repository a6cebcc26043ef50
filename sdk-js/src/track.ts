/**
 * Behaviour: page views (on load, SPA navigations, back/forward-cache restores), time on
 * page, clicks and form submits.
 *
 * Nothing typed by the user is ever read: clicks keep a selector, a text snippet of
 * buttons and links, a link's `href`, coordinates and `data-vigil-*` attributes; form submits keep the
 * form's id, name, action and method. Any element inside `[data-vigil-ignore]` is skipped.
 */
import type { ClickData, FormSubmitData, NavigationType, Page, PageViewData, TimeOnPageData, Tags } from './contract';
import { cut } from './lib/cut';
import { guard } from './lib/guard';
import { scrubUrl } from './lib/scrub';
import { selector } from './lib/selector';

export const IGNORE_ATTRIBUTE = 'data-vigil-ignore';
const ATTRIBUTE_PREFIX = 'data-vigil-';
const CLICKABLE = 'a,button,input,select,textarea,label,[role=button]';
const TEXT_SNIPPET = 64;

type PageReport = {
  (type: 'page_view', data: PageViewData, page: Page): void;
  (type: 'time_on_page', data: TimeOnPageData, page: Page): void;
};

export const currentPage = (referrer?: string): Page => {
  const page: Page = { url: scrubUrl(location.href) };
  if (referrer) page.referrer = scrubUrl(referrer);
  if (document.title) page.title = cut(document.title, 1024);
  return page;
};

const navigationType = (): NavigationType => {
  const nav = performance.getEntriesByType && (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming);
  const type = nav && nav.type;
  return (document as { prerendering?: boolean }).prerendering || (nav && nav.activationStart! > 0)
    ? 'prerender'
    : type == 'reload' || type == 'back_forward'
      ? type
      : 'navigate';
};

/**
 * Report a page view now and on every SPA navigation (a new URL by `pushState`,
 * `replaceState`, `popstate` or `hashchange`; a new hash alone only with `hashRouting`, since
 * `#!`/`#` placeholder links and in-page anchors change it too), and time_on_page: the page's visible
 * time since its last report, sent when it is hidden or left. Returns the function that
 * reports the pending time (index.ts calls it right before the hidden-page flush); the
 * clock then stays stopped until the page is visible again. On unload `pagehide` comes
 * before `visibilitychange` (https://html.spec.whatwg.org/#unload-a-document), so the
 * second call finds nothing left to report.
 */
export const onPageViews = (report: PageReport, hashRouting?: boolean): (() => void) => {
  let url = location.href;
  let visibleMs = 0;
  let visibleSince = document.visibilityState == 'hidden' ? -1 : performance.now();

  const stopClock = () => {
    if (visibleSince >= 0) visibleMs += performance.now() - visibleSince;
    visibleSince = -1;
  };
  /** Report the visible time of `pageUrl`; `restart` keeps counting (SPA navigation, page still shown). */
  const reportTime = (pageUrl: string, restart?: boolean) => {
    const wasVisible = visibleSince >= 0;
    stopClock();
    if (visibleMs >= 1) report('time_on_page', { duration: Math.min(Math.round(visibleMs), 86400000) }, { url: scrubUrl(pageUrl) });
    visibleMs = 0;
    if (restart && wasVisible) visibleSince = performance.now();
  };

  report('page_view', { navigation_type: navigationType() }, currentPage(document.referrer));

  const route = (href: string) => (hashRouting ? href : href.split('#')[0]);
  const onNavigate = guard(() => {
    if (route(location.href) == route(url)) return;
    reportTime(url, true);
    const previous = url;
    url = location.href;
    report('page_view', { navigation_type: 'spa' }, currentPage(previous));
  });
  (['pushState', 'replaceState'] as const).forEach((method) => {
    const original = history[method];
    history[method] = function (this: History) {
      // eslint-disable-next-line prefer-rest-params
      const result = original.apply(this, arguments as unknown as Parameters<History['pushState']>);
      onNavigate();
      return result;
    };
  });
  addEventListener('popstate', onNavigate);
  addEventListener('hashchange', onNavigate);
  addEventListener(
    'pageshow',
    guard((e: PageTransitionEvent) => {
      if (!e.persisted) return;
      // Restored from the back/forward cache: a new view of the same page.
      visibleMs = 0;
      visibleSince = performance.now();
      report('page_view', { navigation_type: 'back_forward' }, currentPage(document.referrer));
    }),
  );
  addEventListener(
    'visibilitychange',
    guard(() => {
      if (document.visibilityState == 'visible' && visibleSince < 0) visibleSince = performance.now();
    }),
  );
  return () => reportTime(url);
};

const ignored = (el: Element | null): el is null => !el || !el.closest || !!el.closest('[' + IGNORE_ATTRIBUTE + ']');

/** `data-vigil-*` attributes of an element, e.g. `data-vigil-product="42"`. */
const vigilAttributes = (el: Element): Tags | undefined => {
  let tags: Tags | undefined;
  for (let i = 0; i < el.attributes.length && i < 50; i++) {
    const { name, value } = el.attributes[i];
    if (name.indexOf(ATTRIBUTE_PREFIX) == 0) (tags = tags || {})[name.slice(0, 64)] = value.slice(0, 200);
  }
  return tags;
};

/** Report clicks (capture phase, so `stopPropagation` in the page does not hide them). */
export const onClicks = (report: (data: ClickData) => void): void => {
  document.addEventListener(
    'click',
    guard((e: MouseEvent) => {
      const target = e.target as Element | null;
      if (ignored(target)) return;
      const clickable = target.closest(CLICKABLE);
      const el = clickable || target;
      const data: ClickData = { selector: selector(el), x: Math.round(e.pageX), y: Math.round(e.pageY) };
      if (el.id) data.element_id = el.id.slice(0, 256);
      // Text of a button or link, or of a leaf element; never of a field the user types
      // into, and never of a whole container (textContent of <body> would be the page).
      if (clickable ? !/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) : !el.firstElementChild && !(el as HTMLElement).isContentEditable) {
        const text = cut(el.textContent || '', TEXT_SNIPPET);
        if (text) data.text = text;
      }
      // A link's target; an address (mailto:, tel:) or script (javascript:) keeps only its scheme.
      const href = (el as HTMLAnchorElement).href;
      if (typeof href == 'string' && href) data.href = /^https?:/.test(href) ? scrubUrl(href) : href.split(':')[0] + ':';
      const attributes = vigilAttributes(el);
      if (attributes) data.attributes = attributes;
      report(data);
    }),
    true,
  );
};

/** Report form submissions: which form, where to, how. Never a field value. */
export const onFormSubmits = (report: (data: FormSubmitData) => void): void => {
  document.addEventListener(
    'submit',
    guard((e: Event) => {
      const form = e.target as HTMLFormElement | null;
      if (ignored(form)) return;
      // getAttribute: `form.name`/`form.action` are shadowed by inputs named "name"/"action".
      const attr = (name: string) => form.getAttribute(name);
      const data: FormSubmitData = {
        action: scrubUrl(new URL(attr('action') || '', location.href).href),
        method: (attr('method') || 'GET').toUpperCase().slice(0, 16),
      };
      if (attr('id')) data.form_id = attr('id')!.slice(0, 256);
      if (attr('name')) data.form_name = attr('name')!.slice(0, 256);
      report(data);
    }),
    true,
  );
};
