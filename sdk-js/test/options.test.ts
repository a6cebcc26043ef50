import { describe, expect, test } from 'vitest';
import { DEFAULTS, resolveOptions } from '../src/options';

const required = { endpoint: 'https://vigil.example.com', projectId: 'shop', key: 'pk' };

describe('options', () => {
  test('defaults fill what is not given; undefined (an absent data attribute) keeps the default', () => {
    const o = resolveOptions({ ...required, environment: undefined, release: undefined, batchSize: 5 });
    expect(o).toMatchObject({ ...DEFAULTS, ...required, batchSize: 5 });
    expect(o.environment).toBe('production');
  });

  test('limits the contract cannot take are clamped', () => {
    expect(resolveOptions({ ...required, maxBreadcrumbs: 500 }).maxBreadcrumbs).toBe(100);
    expect(resolveOptions({ ...required, batchSize: 0 }).batchSize).toBe(1);
    expect(resolveOptions({ ...required, batchSize: 5000 }).batchSize).toBe(1000);
  });

  test('a missing required option is named in the error', () => {
    expect(() => resolveOptions({ endpoint: 'x' } as never)).toThrow('Vigil.init: missing projectId, key (see docs/sdk.md)');
  });
});
