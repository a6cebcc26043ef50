import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { localStore } from '../src/lib/storage';
import { createSession, SESSION_TIMEOUT_MS } from '../src/session';

beforeEach(() => {
  localStorage.clear();
  vi.useFakeTimers({ now: new Date('2026-06-15T12:00:00Z') });
});
afterEach(() => vi.useRealTimers());

describe('visitor id', () => {
  test('is kept in localStorage across page loads (written with the first event)', () => {
    const page = createSession(localStore);
    page.sessionId();
    const first = page.visitorId;
    expect(first).toMatch(/^[a-f0-9]{32}$/);
    expect(createSession(localStore).visitorId).toBe(first);
  });

  test('cookieless: a new anon_ id per page load and nothing stored', () => {
    const a = createSession(undefined);
    a.sessionId();
    expect(a.visitorId).toMatch(/^anon_[a-f0-9]{32}$/);
    expect(createSession(undefined).visitorId).not.toBe(a.visitorId);
    expect(localStorage.length).toBe(0);
  });
});

describe('session id', () => {
  test('stays while there is activity within 30 minutes', () => {
    const s = createSession(localStore);
    const id = s.sessionId();
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(SESSION_TIMEOUT_MS - 1000);
      expect(s.sessionId()).toBe(id);
    }
  });

  test('starts a new session after 30 minutes without an event', () => {
    const s = createSession(localStore);
    const id = s.sessionId();
    vi.advanceTimersByTime(SESSION_TIMEOUT_MS + 1);
    expect(s.sessionId()).not.toBe(id);
  });

  test('is shared with other tabs through storage', () => {
    const tabA = createSession(localStore);
    const id = tabA.sessionId();
    vi.advanceTimersByTime(10_000);
    const tabB = createSession(localStore);
    expect(tabB.sessionId()).toBe(id);
  });

  test('a tab idle past the timeout joins the session another tab kept alive', () => {
    const tabA = createSession(localStore);
    const id = tabA.sessionId();
    const tabB = createSession(localStore);
    tabB.sessionId();
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(10 * 60 * 1000);
      tabB.sessionId();
    }
    expect(tabA.sessionId()).toBe(id);
  });

  test('a custom timeout', () => {
    const s = createSession(localStore, 1000);
    const id = s.sessionId();
    vi.advanceTimersByTime(1001);
    expect(s.sessionId()).not.toBe(id);
  });
});

describe('consent', () => {
  test('persist() moves memory ids into storage, reusing a stored visitor', () => {
    localStorage.setItem('vigil.vid', 'f'.repeat(32));
    const s = createSession(undefined);
    const sid = s.sessionId();
    s.persist(localStore);
    expect(s.visitorId).toBe('f'.repeat(32));
    expect(localStorage.getItem('vigil.sid')).toMatch(new RegExp('^' + sid + '\\.\\d+$'));
  });

  test('clear() forgets the stored ids and stops storing', () => {
    const s = createSession(localStore);
    s.sessionId();
    s.clear();
    expect(localStorage.getItem('vigil.vid')).toBeNull();
    vi.advanceTimersByTime(SESSION_TIMEOUT_MS + 1);
    s.sessionId();
    expect(localStorage.length).toBe(0);
  });
});
