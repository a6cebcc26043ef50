import { beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { ErrorData } from '../src/contract';
import { createErrorFilter, DEDUPE_WINDOW_MS, errorData, MAX_ERRORS_PER_PAGE, onErrors } from '../src/errors';

const seen: ErrorData[] = [];
beforeAll(() => onErrors((d) => seen.push(d)));
beforeEach(() => {
  seen.length = 0;
  document.body.innerHTML = '';
});

const rejection = (reason: unknown) => Object.assign(new Event('unhandledrejection'), { reason });

describe('runtime errors', () => {
  test('an uncaught TypeError with its message, location and parsed frames', () => {
    let error: Error;
    try {
      (undefined as unknown as { x: number }).x;
    } catch (e) {
      error = e as Error;
    }
    dispatchEvent(new ErrorEvent('error', { error: error!, message: 'Uncaught ' + error!.message, filename: 'http://shop.example.com/static/app.js?token=t', lineno: 42, colno: 21 }));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      kind: 'js',
      type: 'TypeError',
      message: error!.message,
      source: 'http://shop.example.com/static/app.js?token=[Filtered]',
      lineno: 42,
      colno: 21,
      handled: false,
    });
    expect(seen[0].frames![0].filename).toContain('errors.test.ts');
    expect(seen[0].stack).toContain('TypeError');
  });

  test("the stack's URLs lose their secrets, like every URL the SDK sends", () => {
    const error = new TypeError('boom');
    error.stack = 'TypeError: boom\n    at HTMLButtonElement.onclick (http://shop.example.com/?utm_source=mail&token=abc:18:44)';
    dispatchEvent(new ErrorEvent('error', { error, message: 'Uncaught TypeError: boom' }));
    expect(seen[0].stack).toBe('TypeError: boom\n    at HTMLButtonElement.onclick (http://shop.example.com/?utm_source=mail&token=[Filtered]:18:44)');
    expect(seen[0].frames).toEqual([
      { filename: 'http://shop.example.com/?utm_source=mail&token=[Filtered]', function: 'HTMLButtonElement.onclick', lineno: 18, colno: 44, in_app: true },
    ]);
  });

  test('a cross-origin "Script error." has no details and one shared fingerprint', () => {
    dispatchEvent(new ErrorEvent('error', { message: 'Script error.' }));
    expect(seen[0]).toEqual({ kind: 'js', message: 'Script error.', handled: false, fingerprint: ['cross-origin-script-error'] });
  });

  test('a thrown non-Error value', () => {
    dispatchEvent(new ErrorEvent('error', { error: { code: 7 }, message: 'Uncaught [object Object]' }));
    expect(seen[0]).toMatchObject({ kind: 'js', type: 'Error', message: 'Non-Error exception: {"code":7}' });
  });
});

describe('unhandled rejections', () => {
  test('an Error reason keeps its type, message and frames', () => {
    dispatchEvent(rejection(new RangeError('out of range')));
    expect(seen[0]).toMatchObject({ kind: 'promise', type: 'RangeError', message: 'out of range', handled: false });
    expect(seen[0].frames!.length).toBeGreaterThan(0);
  });

  test('non-Error reasons: strings, objects, undefined, circular objects', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    [rejection('timeout'), rejection({ status: 401 }), rejection(undefined), rejection(circular)].forEach((e) => dispatchEvent(e));
    expect(seen.map((d) => d.message)).toEqual([
      'Non-Error promise rejection: timeout',
      'Non-Error promise rejection: {"status":401}',
      'Non-Error promise rejection: undefined',
      'Non-Error promise rejection: [object Object]',
    ]);
    expect(seen.every((d) => d.kind == 'promise' && d.type == 'UnhandledRejection')).toBe(true);
  });
});

describe('resource load errors', () => {
  test.each([
    ['img', '<img src="https://cdn.example.net/kettle.webp">', 'https://cdn.example.net/kettle.webp'],
    ['script', '<script src="https://cdn.example.net/app.js"></script>', 'https://cdn.example.net/app.js'],
    ['link', '<link rel="stylesheet" href="https://cdn.example.net/app.css">', 'https://cdn.example.net/app.css'],
    ['video', '<video src="https://cdn.example.net/intro.mp4"></video>', 'https://cdn.example.net/intro.mp4'],
  ])('a failing <%s> is seen in the capture phase (the event does not bubble)', (tag, html, url) => {
    document.body.innerHTML = html;
    document.querySelector(tag)!.dispatchEvent(new Event('error'));
    expect(seen).toEqual([{ kind: 'resource', message: 'Failed to load ' + tag, source: url, element: tag }]);
  });

  test('an element without a URL is not a resource error', () => {
    document.body.innerHTML = '<div></div>';
    document.querySelector('div')!.dispatchEvent(new Event('error'));
    expect(seen).toEqual([]);
  });
});

describe('errorData', () => {
  test('caps message and stack sizes to the contract', () => {
    const e = new Error('m'.repeat(20000));
    e.stack = 's'.repeat(100000);
    const d = errorData(e, 'js', true);
    expect(d.message).toHaveLength(8192);
    expect(d.stack).toHaveLength(16384);
    expect(d.handled).toBe(true);
  });

  test('an Error with an empty message is named by its type', () => {
    expect(errorData(new TypeError(''), 'js', true).message).toBe('TypeError');
  });
});

describe('error filter', () => {
  const error = (message: string, extra: Partial<ErrorData> = {}): ErrorData => ({ kind: 'js', message, ...extra });

  test('ignoreErrors matches messages, denyUrls matches the source, first frame or request URL', () => {
    const keep = createErrorFilter({ ignoreErrors: ['ResizeObserver loop', /^Non-Error/], denyUrls: [/^chrome-extension:/, 'ads.example'] });
    expect(keep(error('ResizeObserver loop completed with undelivered notifications.'))).toBe(false);
    expect(keep(error('Non-Error promise rejection: x'))).toBe(false);
    expect(keep(error('a', { source: 'chrome-extension://abc/content.js' }))).toBe(false);
    expect(keep(error('b', { frames: [{ filename: 'https://ads.example/x.js' }] }))).toBe(false);
    expect(keep(error('c', { kind: 'api', request: { method: 'GET', url: 'https://ads.example/pixel' } }))).toBe(false);
    expect(keep(error('d', { source: 'http://shop.example.com/app.js' }))).toBe(true);
  });

  test('a burst of the same error is reported once per window', () => {
    vi.useFakeTimers();
    try {
      const keep = createErrorFilter({ ignoreErrors: [], denyUrls: [] });
      const same = () => error('loop', { frames: [{ filename: 'http://shop.example.com/a.js', lineno: 1, colno: 2 }] });
      const results = Array.from({ length: 60 }, same).map(keep);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(keep(error('another'))).toBe(true);
      vi.advanceTimersByTime(DEDUPE_WINDOW_MS);
      expect(keep(same())).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  test(`at most ${MAX_ERRORS_PER_PAGE} errors per page`, () => {
    const keep = createErrorFilter({ ignoreErrors: [], denyUrls: [] });
    const kept = Array.from({ length: 150 }, (_, i) => keep(error('distinct ' + i))).filter(Boolean);
    expect(kept).toHaveLength(MAX_ERRORS_PER_PAGE);
  });
});
