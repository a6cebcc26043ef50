import { describe, expect, test } from 'vitest';
import { breakdown, navigationVitals } from '../src/navigation';

// A Navigation Timing Level 2 entry as Chromium reports it for an HTTPS page (ms since navigation start).
const timing = {
  type: 'navigate',
  activationStart: 0,
  redirectStart: 0,
  redirectEnd: 0,
  domainLookupStart: 3.2,
  domainLookupEnd: 15.3,
  connectStart: 15.3,
  secureConnectionStart: 35.7,
  connectEnd: 50.7,
  requestStart: 51,
  responseStart: 131.3,
  responseEnd: 172,
  domInteractive: 640.4,
  domComplete: 1072.2,
  loadEventStart: 1072.3,
  loadEventEnd: 1102.4,
} as unknown as PerformanceNavigationTiming;

describe('navigation timing', () => {
  test('LOAD is loadEventEnd and TTI is domInteractive, since navigation start', () => {
    const [load, tti] = navigationVitals(timing);
    expect(load).toMatchObject({ name: 'LOAD', value: 1102.4, navigation_type: 'navigate' });
    expect(tti).toEqual({ name: 'TTI', value: 640.4, navigation_type: 'navigate' });
  });

  test('the breakdown: redirect, DNS, TCP, TLS, request, response, DOM, load event', () => {
    expect(breakdown(timing)).toEqual({
      redirect: 0,
      dns: 12.1,
      tcp: 20.4,
      tls: 15,
      request: 80.3,
      response: 40.7,
      dom: 900.2,
      load: 30.1,
    });
  });

  test('plain HTTP has no TLS phase; TCP runs to connectEnd', () => {
    const http = { ...timing, secureConnectionStart: 0, toJSON: undefined } as unknown as PerformanceNavigationTiming;
    expect(breakdown(http)).toMatchObject({ tcp: 35.4, tls: 0 });
  });

  test('prerendered pages count from activation, never negative', () => {
    const prerendered = { ...timing, activationStart: 800 } as unknown as PerformanceNavigationTiming;
    const [load, tti] = navigationVitals(prerendered);
    expect(load.value).toBe(302.4);
    expect(tti.value).toBe(0);
  });

  test('neither LOAD nor TTI carries a rating: the processor rates every vital', () => {
    for (const domInteractive of [100, 4000, 9000])
      for (const vital of navigationVitals({ ...timing, domInteractive } as unknown as PerformanceNavigationTiming))
        expect(vital).not.toHaveProperty('rating');
  });
});
