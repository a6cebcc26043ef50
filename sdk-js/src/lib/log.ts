/**
 * The SDK's own diagnostics: `warn` only with `debug: true`; `complain` always (a
 * configuration mistake the site owner must see).
 *
 * The console method is taken when this module loads, before `breadcrumbs.ts` wraps the
 * console, so the SDK's own warnings never come back to it as breadcrumbs.
 */
const consoleWarn = typeof console != 'undefined' ? console.warn : undefined;
let enabled = false;

export const setDebug = (on: boolean): void => {
  enabled = on;
};

export const complain = (...args: unknown[]): void => {
  if (consoleWarn) consoleWarn.call(console, '[vigil]', ...args);
};

export const warn = (...args: unknown[]): void => {
  if (enabled) complain(...args);
};
