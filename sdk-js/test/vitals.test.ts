import { describe, expect, test } from 'vitest';
import type { MetricType } from 'web-vitals';
import { vitalData } from '../src/vitals';

const metric = (m: Partial<MetricType>) =>
  ({ rating: 'good', delta: 0, id: 'v5-1718452798250-1', navigationType: 'navigate', entries: [], ...m }) as MetricType;

describe('web-vitals metrics as contract data', () => {
  test('LCP names the element and the image URL', () => {
    document.body.innerHTML = '<main><img class="hero" src="/hero.webp"></main>';
    const lcp = { element: document.querySelector('img'), url: 'http://shop.example.com/hero.webp?sig=x' };
    expect(vitalData(metric({ name: 'LCP', value: 2834.46, rating: 'needs-improvement', entries: [lcp as never] }))).toEqual({
      name: 'LCP',
      value: 2834.5,
      navigation_type: 'navigate',
      metric_id: 'v5-1718452798250-1',
      attribution: { target: 'body > main > img.hero', url: 'http://shop.example.com/hero.webp?sig=[Filtered]' },
    });
  });

  test('CLS blames the source of the largest shift; the value keeps 4 decimals', () => {
    document.body.innerHTML = '<div id="ad"></div><p class="late"></p>';
    const shifts = [
      { value: 0.02, sources: [{ node: document.querySelector('p') }] },
      { value: 0.11, sources: [{ node: null }, { node: document.querySelector('#ad') }] },
    ];
    const data = vitalData(metric({ name: 'CLS', value: 0.130049, rating: 'needs-improvement', entries: shifts as never }));
    expect(data.value).toBe(0.13);
    expect(data.attribution).toEqual({ target: 'div#ad' });
  });

  test('INP names the interaction target and its type', () => {
    document.body.innerHTML = '<button id="buy">Buy</button>';
    const events = [{ name: 'pointerdown', target: document.querySelector('button') }];
    expect(vitalData(metric({ name: 'INP', value: 232, rating: 'needs-improvement', entries: events as never })).attribution).toEqual({
      target: 'button#buy',
      interaction_type: 'pointer',
    });
    const keys = [{ name: 'keydown', target: document.querySelector('button') }];
    expect(vitalData(metric({ name: 'INP', value: 90, entries: keys as never })).attribution!.interaction_type).toBe('keyboard');
  });

  test('navigation types are snake_case like page views: back_forward_cache', () => {
    expect(vitalData(metric({ name: 'FCP', value: 10, navigationType: 'back-forward-cache' })).navigation_type).toBe('back_forward_cache');
  });

  test('FCP and TTFB carry no attribution; values stay within the contract', () => {
    expect(vitalData(metric({ name: 'TTFB', value: 131.33, entries: [{} as never] }))).not.toHaveProperty('attribution');
    expect(vitalData(metric({ name: 'FCP', value: 9e9 })).value).toBe(3600000);
  });
});
