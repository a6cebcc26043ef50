/**
 * The trail of what happened before an error: a ring buffer of the last N clicks,
 * navigations, API calls and console warnings/errors, copied onto every error event.
 */
import type { Breadcrumb, BreadcrumbLevel } from './contract';
import { cut } from './lib/cut';
import { guard } from './lib/guard';
import { isoNow } from './lib/now';

export interface Breadcrumbs {
  add(category: string, message: string, level?: BreadcrumbLevel, data?: Record<string, unknown>): void;
  /** A copy of the buffer, oldest first. */
  all(): Breadcrumb[];
}

export const createBreadcrumbs = (max: number): Breadcrumbs => {
  const buffer: Breadcrumb[] = [];
  return {
    add(category, message, level = 'info', data) {
      if (max <= 0) return;
      const crumb: Breadcrumb = { category: cut(category, 64), message: cut(message, 1024), level, timestamp: isoNow() };
      if (data) crumb.data = data;
      if (buffer.push(crumb) > max) buffer.shift();
    },
    all: () => buffer.slice(),
  };
};

// String() rather than JSON.stringify: a console.error of a huge object must stay cheap.
const describe = (value: unknown): string =>
  value instanceof Error ? value.name + ': ' + value.message : String(value);

/**
 * Record `console.warn` and `console.error` calls as breadcrumbs. The original method
 * always runs with the original arguments, whatever happens to the recording.
 */
export const onConsole = (record: (level: BreadcrumbLevel, message: string) => void): void => {
  (['warn', 'error'] as const).forEach((method) => {
    const original = console[method];
    if (typeof original != 'function') return;
    const level: BreadcrumbLevel = method == 'warn' ? 'warning' : 'error';
    const save = guard((args: unknown[]) => record(level, args.map(describe).join(' ')));
    console[method] = function (this: Console, ...args: unknown[]) {
      save(args);
      return original.apply(this, args);
    };
  });
};
