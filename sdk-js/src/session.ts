/**
 * Who and which visit: a visitor id and a session id.
 *
 * The visitor id is random and kept in localStorage, so it survives reloads and the
 * session. In the cookieless mode the SDK stores nothing on the device: the visitor id is
 * a new random id per page load with the `anon_` prefix, which tells the processor to
 * derive a stable visitor from its keyed hash (daily salt, user agent, IP, project).
 *
 * A session ends after 30 minutes without an event (Google Analytics' rule). The last
 * activity is stored next to the id, so tabs of the same site share their session.
 */
import { uid } from './lib/uid';
import type { Store } from './lib/storage';

export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;
const VISITOR_KEY = 'vigil.vid';
const SESSION_KEY = 'vigil.sid';
// Persist the last-activity time at most this often: an event burst writes storage once.
const WRITE_EVERY_MS = 5000;

export interface Session {
  readonly visitorId: string;
  /** The current session id; counts as activity and starts a new session after the timeout. */
  sessionId(): string;
  /** Move the ids into `store` (consent granted) and keep them there from now on. */
  persist(store: Store): void;
  /** Forget the stored ids (consent withdrawn). */
  clear(): void;
}

export const createSession = (store: Store | undefined, timeoutMs = SESSION_TIMEOUT_MS): Session => {
  let visitorId = (store && store.get(VISITOR_KEY)) || (store ? uid() : 'anon_' + uid());
  let id = '';
  let last = 0;
  let written = 0;

  const save = () => {
    if (store) {
      store.set(VISITOR_KEY, visitorId);
      store.set(SESSION_KEY, id + '.' + last);
      written = last;
    }
  };

  return {
    get visitorId() {
      return visitorId;
    },
    sessionId() {
      const now = Date.now();
      if (now - last > timeoutMs) {
        // Expired here; another tab may have kept the session alive.
        const [storedId, storedLast] = ((store && store.get(SESSION_KEY)) || '').split('.');
        const fresh = /^[a-f0-9]{32}$/.test(storedId) && now - +storedLast <= timeoutMs;
        id = fresh ? storedId : uid();
        written = 0;
      }
      last = now;
      if (now - written > WRITE_EVERY_MS) save();
      return id;
    },
    persist(next) {
      if (visitorId.indexOf('anon_') == 0) visitorId = next.get(VISITOR_KEY) || uid();
      store = next;
      save();
    },
    clear() {
      if (store) {
        store.del(VISITOR_KEY);
        store.del(SESSION_KEY);
      }
      store = undefined;
    },
  };
};
