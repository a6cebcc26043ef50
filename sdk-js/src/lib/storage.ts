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

export const localStore: Store = {
  get: (k) => {
    try {
      return localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set: (k, v) => {
    try {
      localStorage.setItem(k, v);
    } catch {
      /* full or denied: the data stays in memory only */
    }
  },
  del: (k) => {
    try {
      localStorage.removeItem(k);
    } catch {
      /* denied */
    }
  },
  keys: (prefix) => {
    try {
      return Object.keys(localStorage).filter((k) => k.indexOf(prefix) == 0);
    } catch {
      return [];
    }
  },
};
