/** Whether `value` contains any string pattern or matches any RegExp pattern. */
export const matches = (value: string | undefined, patterns: (string | RegExp)[]): boolean =>
  !!value && patterns.some((p) => (typeof p == 'string' ? value.indexOf(p) >= 0 : p.test(value)));
