/**
 * localStorage that never throws: Safari private mode, disabled storage, a full quota and
 * sandboxed iframes all throw on access. The cookieless mode uses no store at all.
 */
export interface Store {
  get(key: string): string | null;
  set(key: string, value: string): void;
  del(key: string): void;
  /** The stored keys that start with `prefix`. */
  keys(prefix: string): string[];
}

/** `use(localStorage)`, or `otherwise` if that throws (full or denied: data stays in memory only). */
const attempt = <T>(use: (storage: Storage) => T, otherwise: T): T => {
  try {
    return use(localStorage);
  } catch {
    return otherwise;
  }
};

export const localStore: Store = {
  get: (k) => attempt((s) => s.getItem(k), null),
  set: (k, v) => attempt((s) => s.setItem(k, v), undefined),
  del: (k) => attempt((s) => s.removeItem(k), undefined),
  keys: (prefix) => attempt((s) => Object.keys(s).filter((k) => k.indexOf(prefix) == 0), []),
};
