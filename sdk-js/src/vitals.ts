/**
 * Core Web Vitals (FCP, LCP, CLS, INP, TTFB) from Google's `web-vitals`, with their
 * good / needs-improvement / poor rating (web-vitals' thresholds:
 * https://web.dev/articles/vitals) and what to blame, taken from the standard build's
 * `metric.entries` (the attribution build alone would cost 2.5 KB more):
 * - LCP: the element's selector, and its image URL;
 * - CLS: the source node of the largest layout shift in the worst session window;
 * - INP: the interaction's target and whether it was a pointer or keyboard interaction.
 *
 * LCP, CLS and INP are final only when the page is hidden; web-vitals reports them from
 * its capture-phase `visibilitychange` listener, before the queue's hidden-page flush runs.
 */
import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricType } from 'web-vitals';
import type { VitalAttribution, WebVitalData } from './contract';
import { guard } from './lib/guard';
import { scrubUrl } from './lib/scrub';
import { selector } from './lib/selector';

interface LayoutShift extends PerformanceEntry {
  value: number;
  sources?: { node?: Node | null }[];
}

/** The entry a metric blames: LCP's element, CLS's largest shift, INP's interaction. */
const blamed = (metric: MetricType) => {
  const entries = metric.entries as (PerformanceEntry & Record<string, unknown>)[];
  if (!entries.length) return;
  if (metric.name == 'LCP') return entries[entries.length - 1];
  if (metric.name == 'CLS') return entries.reduce((a, b) => ((b.value as number) > (a.value as number) ? b : a));
  if (metric.name == 'INP') return entries.find((e) => e.target) || entries[0];
};

const attribution = (metric: MetricType): VitalAttribution | undefined => {
  const entry = blamed(metric);
  if (!entry) return;
  if (metric.name == 'LCP') {
    const lcp = entry as unknown as LargestContentfulPaint;
    const a: VitalAttribution = { target: selector(lcp.element) };
    if (lcp.url) a.url = scrubUrl(lcp.url);
    return a;
  }
  if (metric.name == 'CLS') {
    const sources = (entry as unknown as LayoutShift).sources;
    const source = sources && sources.find((s) => s.node);
    return source ? { target: selector(source.node) } : undefined;
  }
  return {
    target: selector(entry.target as Node),
    interaction_type: entry.name.indexOf('key') == 0 ? 'keyboard' : 'pointer',
  };
};

// CLS is unitless (a score); the others are milliseconds.
const round = (metric: MetricType) =>
  metric.name == 'CLS' ? Math.round(metric.value * 10000) / 10000 : Math.round(metric.value * 10) / 10;

/** Contract data for a web-vitals metric. */
export const vitalData = (metric: MetricType): WebVitalData => {
  const data: WebVitalData = {
    name: metric.name,
    value: Math.min(round(metric), 3600000),
    rating: metric.rating,
    // web-vitals says back-forward(-cache); page views and Navigation Timing say back_forward.
    navigation_type: metric.navigationType.replace(/-/g, '_'),
    metric_id: metric.id,
  };
  const a = attribution(metric);
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
    report(vitalData(metric), entry && entry.startTime);
  });
  [onFCP, onLCP, onCLS, onINP, onTTFB].forEach((on) => guard(on as (cb: typeof callback) => void)(callback));
};
