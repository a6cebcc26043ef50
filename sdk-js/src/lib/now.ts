/** The current time as the contract's RFC 3339 timestamp, e.g. `2024-08-28T14:25:43.511Z`. */
export const isoNow = (): string => new Date().toISOString();

/** An RFC 3339 timestamp for a `performance.now()`-based time. */
export const isoAt = (perfTime: number): string =>
  new Date(performance.timeOrigin + perfTime).toISOString();
