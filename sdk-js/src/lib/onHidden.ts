/**
 * Run `callback` whenever the page becomes hidden or is being unloaded.
 *
 * `visibilitychange` to hidden is the last event a page can rely on (mobile browsers often
 * skip `pagehide`/`unload`: https://developer.chrome.com/blog/page-lifecycle-api/#advice-hidden);
 * `pagehide` covers desktop browsers that unload without hiding first.
 * The listeners sit on `window` in the bubble phase, so they run after web-vitals'
 * capture-phase listeners have reported the final LCP, CLS and INP values.
 */
export const onHidden = (callback: (event: Event) => void): void => {
  const run = (event: Event) => {
    if (event.type == 'pagehide' || document.visibilityState == 'hidden') callback(event);
  };
  addEventListener('visibilitychange', run);
  addEventListener('pagehide', run);
};
