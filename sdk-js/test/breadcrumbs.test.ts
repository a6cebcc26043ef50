import { describe, expect, test, vi } from 'vitest';
import { createBreadcrumbs, onConsole } from '../src/breadcrumbs';

describe('ring buffer', () => {
  test('keeps the last N, oldest first, as contract breadcrumbs', () => {
    const crumbs = createBreadcrumbs(3);
    for (let i = 1; i <= 5; i++) crumbs.add('ui.click', 'button#b' + i);
    const all = crumbs.all();
    expect(all.map((c) => c.message)).toEqual(['button#b3', 'button#b4', 'button#b5']);
    expect(all[0]).toMatchObject({ category: 'ui.click', level: 'info' });
    expect(all[0].timestamp).toMatch(/Z$/);
  });

  test('all() is a copy; 0 keeps nothing', () => {
    const crumbs = createBreadcrumbs(5);
    crumbs.add('navigation', '/a → /b', 'info', { from: '/a' });
    crumbs.all().pop();
    expect(crumbs.all()).toHaveLength(1);
    expect(crumbs.all()[0].data).toEqual({ from: '/a' });
    const none = createBreadcrumbs(0);
    none.add('x', 'y');
    expect(none.all()).toEqual([]);
  });

  test('long messages are cut to 1024 characters', () => {
    const crumbs = createBreadcrumbs(1);
    crumbs.add('console', 'x'.repeat(5000));
    expect(crumbs.all()[0].message).toHaveLength(1024);
  });
});

describe('console capture', () => {
  test('records warn and error, and the original console still gets the call', () => {
    const originalWarn = vi.fn();
    const originalError = vi.fn();
    const saved = { warn: console.warn, error: console.error };
    console.warn = originalWarn;
    console.error = originalError;
    try {
      const seen: [string, string][] = [];
      onConsole((level, message) => seen.push([level, message]));
      console.warn('low stock', 3);
      console.error(new TypeError('boom'), { a: 1 });
      expect(seen).toEqual([
        ['warning', 'low stock 3'],
        ['error', 'TypeError: boom [object Object]'],
      ]);
      expect(originalWarn).toHaveBeenCalledWith('low stock', 3);
      expect(originalError.mock.calls[0][0]).toBeInstanceOf(TypeError);
    } finally {
      Object.assign(console, saved);
    }
  });

  test('a failing recorder never stops the console call', () => {
    const original = vi.fn();
    const saved = console.warn;
    console.warn = original;
    try {
      onConsole(() => {
        throw new Error('recorder broke');
      });
      expect(() => console.warn('still printed')).not.toThrow();
      expect(original).toHaveBeenCalledWith('still printed');
    } finally {
      console.warn = saved;
    }
  });
});
