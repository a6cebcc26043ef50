/**
 * Wrap a function so that nothing it throws reaches the host page.
 *
 * Every SDK entry point (public API, event listener, wrapped browser API) goes through
 * this: a monitoring script must never be the reason a page breaks. What it swallows is
 * logged when `debug` is on.
 */
import { warn } from './log';

export const guard =
  <A extends unknown[], R>(fn: (...args: A) => R) =>
  function (this: unknown, ...args: A): R | undefined {
    try {
      return fn.apply(this, args);
    } catch (e) {
      warn('internal error (swallowed)', e);
    }
  };
