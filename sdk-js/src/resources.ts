/**
 * Resource timings: the slowest `max` resources of the page load (name, initiator type,
 * duration = `responseEnd - startTime`, transfer size), read once after the load event so
 * late images and scripts are in. Cross-origin resources without `Timing-Allow-Origin`
 * report a transfer size of 0.
 */
import type { ResourceData } from './contract';
import { guard } from './lib/guard';
import { ms } from './lib/ms';
import { scrubUrl } from './lib/scrub';

/** Wait this long after load for late resources before reading the buffer. */
const AFTER_LOAD_MS = 1000;

export const slowestResources = (entries: PerformanceResourceTiming[], max: number): ResourceData[] =>
  entries
    .map((e) => ({ e, duration: e.responseEnd - e.startTime }))
    .sort((a, b) => b.duration - a.duration)
    .slice(0, max)
    .map(({ e, duration }) => ({
      name: scrubUrl(e.name),
      initiator_type: (e.initiatorType || 'other').slice(0, 32),
      duration: ms(duration),
      transfer_size: Math.max(0, Math.round(e.transferSize || 0)),
    }));

/**
 * Report the `max` slowest resources once, after load; `ignore` excludes the SDK's own
 * requests. Returns the function that reports them at once (index.ts calls it when the
 * page is hidden before the timer fired).
 */
export const onResources = (report: (data: ResourceData) => void, max: number, ignore: (url: string) => boolean): (() => void) => {
  let done = false;
  const run = guard(() => {
    if (done) return;
    done = true;
    const entries = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((e) => !ignore(e.name));
    slowestResources(entries, max).forEach(report);
  });
  const later = () => setTimeout(run, AFTER_LOAD_MS);
  if (document.readyState == 'complete') later();
  else addEventListener('load', later);
  return run;
};
