/** A duration for the contract: milliseconds to 0.1, within 0 … 1 h (the contract's bounds). */
export const ms = (value: number): number => Math.min(Math.max(0, Math.round(value * 10) / 10), 3600000);
