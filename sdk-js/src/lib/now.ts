/** A time (ms since the epoch; now by default) as the contract's RFC 3339 timestamp, e.g. `2024-08-28T14:25:43.511Z`. */
export const isoNow = (at = Date.now()): string => new Date(at).toISOString();

/** An RFC 3339 timestamp for a `performance.now()`-based time. */
export const isoAt = (perfTime: number): string =>
  new Date(performance.timeOrigin + perfTime).toISOString();
