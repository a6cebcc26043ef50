/**
 * Core Web Vitals (FCP, LCP, CLS, INP, TTFB) from Google's `web-vitals`, with what to
 * blame, taken from the standard build's
 * `metric.entries` (the attribution build alone would cost 2.5 KB more):
 * - LCP: the element's selector, and its image URL;
 * - CLS: the source node of the largest layout shift in the worst session window;
 * - INP: the interaction's target and whether it was a pointer or keyboard interaction.
 *
 * No rating: the processor rates every web vital from `contract/vitals.json`, one source for
 * the SDK's, the pipeline's and the dashboards' thresholds.
 *
 * LCP, CLS and INP are final only when the page is hidden; web-vitals reports LCP and CLS from
 * its capture-phase `visibilitychange` listener, and INP goes from a listener on `document` (see
 * `onVitals`), both before the queue's hidden-page flush runs.
 */
import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricType } from 'web-vitals';
import type { VitalAttribution, WebVitalData } from './contract';
import { guard } from './lib/guard';
import { ms } from './lib/ms';
import { scrubUrl } from './lib/scrub';
import { selector } from './lib/selector';

interface LayoutShift extends PerformanceEntry {
  value: number;
  sources?: { node?: Node | null }[];
}

/** The entry a metric blames: LCP's element, CLS's largest shift, INP's interaction. */
const blamed = ({ name, entries }: MetricType) => {
  const all = entries as (PerformanceEntry & Record<string, unknown>)[];
  if (!all.length) return;
  if (name == 'LCP') return all[all.length - 1];
  if (name == 'CLS') return all.reduce((a, b) => ((b.value as number) > (a.value as number) ? b : a));
  if (name == 'INP') return all.find((e) => e.target) || all[0];
};

const attribution = (name: MetricType['name'], entry: PerformanceEntry & Record<string, unknown>): VitalAttribution | undefined => {
  if (name == 'LCP') {
    const lcp = entry as unknown as LargestContentfulPaint;
    const a: VitalAttribution = { target: selector(lcp.element) };
    if (lcp.url) a.url = scrubUrl(lcp.url);
    return a;
  }
  if (name == 'CLS') {
    const sources = (entry as unknown as LayoutShift).sources;
    const source = sources && sources.find((s) => s.node);
    return source && { target: selector(source.node) };
  }
  return {
    target: selector(entry.target as Node),
    interaction_type: entry.name.indexOf('key') == 0 ? 'keyboard' : 'pointer',
  };
};

/**
 * Contract data for a web-vitals metric: CLS is a score (to 4 decimals), the others are
 * milliseconds (to 0.1, within 1 h). `entry` is what it blames (see `blamed`).
 */
export const vitalData = (metric: MetricType, entry = blamed(metric)): WebVitalData => {
  const data: WebVitalData = {
    name: metric.name,
    value: metric.name == 'CLS' ? Math.round(metric.value * 10000) / 10000 : ms(metric.value),
    // web-vitals says back-forward(-cache); page views and Navigation Timing say back_forward.
    navigation_type: metric.navigationType.replace(/-/g, '_'),
    metric_id: metric.id,
  };
  const a = entry && attribution(metric.name, entry);
  if (a && (a.target || a.url)) data.attribution = a;
  return data;
};

/**
 * Report FCP, LCP, CLS, INP and TTFB as web-vitals finalises each, with the time (on the
 * `performance.now()` clock) of the entry it blames, if any: LCP, CLS and INP are final only
 * when the page is hidden, maybe after SPA navigations, yet belong to the page that was shown
 * when that entry happened.
 */
export const onVitals = (report: (data: WebVitalData, at?: number) => void): void => {
  const callback = guard((metric: MetricType) => {
    const entry = blamed(metric);
    report(vitalData(metric, entry), entry && entry.startTime);
  });
  [onFCP, onLCP, onCLS, onTTFB].forEach((on) => guard(on as (cb: typeof callback) => void)(callback));
  // INP is taken as every change and sent when the page is hidden: web-vitals' own hidden-time
  // report runs before it has read the interactions still waiting for an idle moment (up to 1 s
  // after them), so a page left that soon after its slowest interaction would report no INP or a
  // lower one. Listening on `document` puts this after all of web-vitals' capture-phase listeners
  // on `window` and before the queue's hidden-page flush (bubble phase, on `window`).
  let inp: MetricType | undefined;
  let sent = '';
  guard(onINP)((metric) => (inp = metric), { reportAllChanges: true });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState == 'hidden' && inp && sent != (sent = inp.id + inp.value)) callback(inp);
  });
};
