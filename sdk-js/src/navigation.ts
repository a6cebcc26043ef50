/**
 * Page load time and TTI as the monitoring write-up defines them (MISSION.md), from
 * Navigation Timing Level 2, where every time is already relative to navigation start:
 * - LOAD = `loadEventEnd`, sent with the phase breakdown below;
 * - TTI = `domInteractive`. This is the write-up's simplification, not Lighthouse's TTI
 *   (which waits for a 5 s quiet window).
 * Neither is rated here: the processor rates every web vital from `contract/vitals.json`.
 *
 * Prerendered pages count from activation, as web-vitals does.
 */
import type { NavigationBreakdown, WebVitalData } from './contract';
import { guard } from './lib/guard';
import { ms } from './lib/ms';

/** Redirect, DNS, TCP, TLS, request (to first byte), response, DOM processing and load-event phases. */
export const breakdown = (t: PerformanceNavigationTiming): NavigationBreakdown => {
  const tlsStart = t.secureConnectionStart > 0 ? t.secureConnectionStart : t.connectEnd;
  return {
    redirect: ms(t.redirectEnd - t.redirectStart),
    dns: ms(t.domainLookupEnd - t.domainLookupStart),
    tcp: ms(tlsStart - t.connectStart),
    tls: ms(t.connectEnd - tlsStart),
    request: ms(t.responseStart - t.requestStart),
    response: ms(t.responseEnd - t.responseStart),
    dom: ms(t.domComplete - t.responseEnd),
    load: ms(t.loadEventEnd - t.loadEventStart),
  };
};

/** LOAD and TTI web_vital data for a finished navigation. */
export const navigationVitals = (t: PerformanceNavigationTiming): WebVitalData[] => {
  const start = t.activationStart || 0;
  return [
    { name: 'LOAD', value: ms(t.loadEventEnd - start), navigation_type: t.type, breakdown: breakdown(t) },
    { name: 'TTI', value: ms(t.domInteractive - start), navigation_type: t.type },
  ];
};

/** Report LOAD and TTI once the load event has finished (`loadEventEnd` is set after it). */
export const onNavigation = (report: (data: WebVitalData) => void): void => {
  const run = guard(() => {
    const t = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    if (t && t.loadEventEnd > 0) navigationVitals(t).forEach(report);
  });
  if (document.readyState == 'complete') setTimeout(run, 0);
  else addEventListener('load', () => setTimeout(run, 0));
};
