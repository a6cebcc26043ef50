/**
 * contract/vitals.json is the one source of every Web Vital's bounds; the processor rates every
 * vital with it (pipeline/vitals.py), the SDK sends no rating. Google's bands, as web-vitals
 * exports them, must be the contract's for LCP, INP, CLS, FCP and TTFB.
 */
import { expect, test } from 'vitest';
import { CLSThresholds, FCPThresholds, INPThresholds, LCPThresholds, TTFBThresholds } from 'web-vitals';
import contract from '../../contract/vitals.json';

test.each([
  ['LCP', LCPThresholds],
  ['INP', INPThresholds],
  ['CLS', CLSThresholds],
  ['FCP', FCPThresholds],
  ['TTFB', TTFBThresholds],
] as const)("web-vitals rates %s with contract/vitals.json's bounds", (name, thresholds) => {
  expect(thresholds).toEqual([contract[name].good, contract[name].poor]);
});

test('the contract bounds every vital the SDK sends, good below poor, with its unit', () => {
  const names = Object.keys(contract).filter((name) => !name.startsWith('$'));
  expect(names).toEqual(['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI']);
  for (const name of names) {
    const { good, poor, unit } = contract[name as keyof typeof contract] as { good: number; poor: number; unit: string };
    expect(good, name).toBeLessThan(poor);
    expect(unit, name).toBe(name == 'CLS' ? '' : 'ms');
  }
});
