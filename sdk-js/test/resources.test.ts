import { describe, expect, test } from 'vitest';
import { slowestResources } from '../src/resources';

const entry = (name: string, startTime: number, responseEnd: number, initiatorType = 'script', transferSize = 1000) =>
  ({ name, startTime, responseEnd, initiatorType, transferSize }) as PerformanceResourceTiming;

describe('resource timings', () => {
  test('slowest first, capped, duration = responseEnd - startTime', () => {
    const entries = [
      entry('https://cdn.example.net/a.js', 10, 60),
      entry('https://cdn.example.net/hero.webp', 20, 820.44, 'img', 183422),
      entry('https://cdn.example.net/b.css', 5, 305, 'link'),
    ];
    expect(slowestResources(entries, 2)).toEqual([
      { name: 'https://cdn.example.net/hero.webp', initiator_type: 'img', duration: 800.4, transfer_size: 183422 },
      { name: 'https://cdn.example.net/b.css', initiator_type: 'link', duration: 300, transfer_size: 1000 },
    ]);
  });

  test('secrets stripped from names; cross-origin entries without sizes report 0', () => {
    const [r] = slowestResources([entry('https://api.example.net/img?token=abc', 0, 10, '', 0)], 10);
    expect(r).toEqual({ name: 'https://api.example.net/img?token=[Filtered]', initiator_type: 'other', duration: 10, transfer_size: 0 });
  });
});
