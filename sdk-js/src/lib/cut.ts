/** Shorten a string to at most `max` characters (contract `maxLength`), whitespace collapsed. */
export const cut = (value: unknown, max: number): string =>
  String(value).replace(/\s+/g, ' ').trim().slice(0, max);
