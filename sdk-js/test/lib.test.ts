import { afterEach, describe, expect, test, vi } from 'vitest';
import { cut } from '../src/lib/cut';
import { guard } from '../src/lib/guard';
import { matches } from '../src/lib/matches';
import { isoAt, isoNow } from '../src/lib/now';
import { onHidden } from '../src/lib/onHidden';
import { scrubText, scrubUrl } from '../src/lib/scrub';
import { selector } from '../src/lib/selector';
import { localStore } from '../src/lib/storage';
import { uid } from '../src/lib/uid';
import { setVisibility } from './helpers';

afterEach(() => {
  document.body.innerHTML = '';
  localStorage.clear();
});

describe('scrubUrl', () => {
  test('filters credential-like query and fragment parameters, keeps the rest', () => {
    expect(scrubUrl('https://a.example/reset?token=abc123&lang=en&api_key=k&utm_source=mail')).toBe(
      'https://a.example/reset?token=[Filtered]&lang=en&api_key=[Filtered]&utm_source=mail',
    );
    expect(scrubUrl('https://a.example/cb#access_token=xyz&state=1')).toBe('https://a.example/cb#access_token=[Filtered]&state=1');
    expect(scrubUrl('https://a.example/?Password=hunter2&SessionId=9&sig=s&code=c')).toBe(
      'https://a.example/?Password=[Filtered]&SessionId=[Filtered]&sig=[Filtered]&code=[Filtered]',
    );
  });

  test('removes user:password@ credentials and keeps hash routes', () => {
    expect(scrubUrl('https://bob:secret@a.example/x')).toBe('https://a.example/x');
    expect(scrubUrl('https://a.example/#/products/42')).toBe('https://a.example/#/products/42');
  });

  test('caps the length at the contract maximum', () => {
    expect(scrubUrl('https://a.example/' + 'x'.repeat(10000))).toHaveLength(8192);
  });
});

describe('scrubText', () => {
  test("filters the URLs of a stack's frames and keeps their line and column", () => {
    const v8 = 'TypeError: x\n    at HTMLButtonElement.onclick (https://a.example/?utm_source=mail&token=abc:18:44)\n    at f (https://a.example/app.js?v=2:3:15)';
    expect(scrubText(v8)).toBe(
      'TypeError: x\n    at HTMLButtonElement.onclick (https://a.example/?utm_source=mail&token=[Filtered]:18:44)\n    at f (https://a.example/app.js?v=2:3:15)',
    );
    const gecko = 'onclick@https://a.example/cart?session=s1&x=1:7:2\ng@https://a.example/?api_key=k:1:1\n@https://a.example/?auth=a';
    expect(scrubText(gecko)).toBe('onclick@https://a.example/cart?session=[Filtered]&x=1:7:2\ng@https://a.example/?api_key=[Filtered]:1:1\n@https://a.example/?auth=[Filtered]');
  });
});

describe('small helpers', () => {
  test('cut collapses whitespace and truncates', () => {
    expect(cut('  a \n\t b  ', 10)).toBe('a b');
    expect(cut('abcdef', 3)).toBe('abc');
    expect(cut(12, 5)).toBe('12');
  });

  test('uid is a 32-character contract id, unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, uid));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[a-f0-9]{32}$/);
  });

  test('uid still works without Web Crypto', () => {
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(() => {
      throw new Error('no crypto');
    });
    expect(uid()).toMatch(/^[a-f0-9]{32}$/);
  });

  test('timestamps are RFC 3339 in UTC', () => {
    expect(isoNow()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(isoAt(performance.now())) - Date.now()).toBeLessThan(1000);
  });

  test('matches: substring for strings, test() for RegExps', () => {
    expect(matches('ResizeObserver loop limit exceeded', ['ResizeObserver'])).toBe(true);
    expect(matches('https://ext.example/x.js', [/^chrome-extension:/, /ext\.example/])).toBe(true);
    expect(matches('fine', ['nope', /nah/])).toBe(false);
    expect(matches(undefined, ['x'])).toBe(false);
  });
});

describe('guard', () => {
  test('returns the result, swallows what is thrown and logs it only in debug', async () => {
    // log.ts takes console.warn when it loads (before the SDK wraps the console): load it fresh.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.resetModules();
    const { guard } = await import('../src/lib/guard');
    const { setDebug } = await import('../src/lib/log');
    const safe = guard((x: number) => {
      if (x < 0) throw new Error('negative');
      return x * 2;
    });
    expect(safe(2)).toBe(4);
    expect(safe(-1)).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
    setDebug(true);
    try {
      safe(-1);
    } finally {
      setDebug(false);
    }
    expect(warn).toHaveBeenCalledWith('[vigil]', 'internal error (swallowed)', expect.any(Error));
  });

  test('keeps `this`', () => {
    const obj = { n: 3, get: guard(function (this: { n: number }) { return this.n; }) };
    expect(obj.get()).toBe(3);
  });
});

describe('selector', () => {
  test('stops at an id, keeps two classes, three levels at most', () => {
    document.body.innerHTML =
      '<main id="app"><section class="a b c"><div class="row"><button class="btn btn-primary x">Buy</button></div></section></main>';
    expect(selector(document.querySelector('button'))).toBe('section.a.b > div.row > button.btn.btn-primary');
    document.body.innerHTML = '<main id="app"><button id="buy" class="btn">Buy</button></main>';
    expect(selector(document.querySelector('button'))).toBe('button#buy.btn');
    expect(selector(document.querySelector('main'))).toBe('main#app');
  });

  test('text nodes resolve to their element; nothing gives an empty selector', () => {
    document.body.innerHTML = '<p class="lead">hello</p>';
    expect(selector(document.querySelector('p')!.firstChild)).toBe('body > p.lead');
    expect(selector(null)).toBe('');
  });
});

describe('localStore', () => {
  test('round-trips and lists keys by prefix', () => {
    localStore.set('vigil.q.a', '1');
    localStore.set('other', '2');
    expect(localStore.get('vigil.q.a')).toBe('1');
    expect(localStore.keys('vigil.q.')).toEqual(['vigil.q.a']);
    localStore.del('vigil.q.a');
    expect(localStore.get('vigil.q.a')).toBeNull();
  });

  test('never throws when storage is denied', () => {
    const denied = () => {
      throw new DOMException('denied', 'SecurityError');
    };
    vi.spyOn(Storage.prototype, 'getItem').mockImplementation(denied);
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(denied);
    vi.spyOn(Storage.prototype, 'removeItem').mockImplementation(denied);
    expect(localStore.get('x')).toBeNull();
    expect(() => localStore.set('x', '1')).not.toThrow();
    expect(() => localStore.del('x')).not.toThrow();
  });
});

describe('onHidden', () => {
  test('fires on visibilitychange to hidden and on pagehide, not on visible', () => {
    const seen: string[] = [];
    onHidden((e) => seen.push(e.type));
    setVisibility('visible');
    setVisibility('hidden');
    dispatchEvent(new Event('pagehide'));
    setVisibility('visible');
    expect(seen).toEqual(['visibilitychange', 'pagehide']);
  });
});
