import { describe, expect, test } from 'vitest';
import { parseStack } from '../src/stack';

// The page under test is http://shop.example.com: frames from that origin are in_app.

describe('Chromium (V8) stacks', () => {
  const stack = [
    "TypeError: Cannot read properties of undefined (reading 'x')",
    '    at myFunction (http://shop.example.com/static/app.js:42:21)',
    '    at HTMLButtonElement.<anonymous> (http://shop.example.com/static/app.js:10:5)',
    '    at new Widget (http://shop.example.com/static/widget.js:3:9)',
    '    at async loadCart (http://shop.example.com/static/app.js:55:3)',
    '    at Array.map (<anonymous>)',
    '    at eval (eval at run (http://shop.example.com/static/app.js:60:7), <anonymous>:1:1)',
    '    at https://cdn.example.net/lib.min.js:1:20031',
  ].join('\n');

  test('every located frame, innermost first, with function, line and column', () => {
    expect(parseStack(stack)).toEqual([
      { filename: 'http://shop.example.com/static/app.js', function: 'myFunction', lineno: 42, colno: 21, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'HTMLButtonElement.<anonymous>', lineno: 10, colno: 5, in_app: true },
      { filename: 'http://shop.example.com/static/widget.js', function: 'new Widget', lineno: 3, colno: 9, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'loadCart', lineno: 55, colno: 3, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'eval', lineno: 60, colno: 7, in_app: true },
      { filename: 'https://cdn.example.net/lib.min.js', lineno: 1, colno: 20031, in_app: false },
    ]);
  });

  test('a message that looks like a Firefox frame is not a frame', () => {
    const frames = parseStack('Error: failed for bob@mail.example.com:80\n    at send (http://shop.example.com/a.js:1:2)');
    expect(frames).toHaveLength(1);
    expect(frames[0].function).toBe('send');
  });

  test('a real V8 stack from this very process parses', () => {
    const frames = parseStack(new Error('here').stack);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames[0].filename).toContain('stack.test.ts');
    expect(frames[0].lineno).toBeGreaterThan(0);
  });
});

describe('Firefox (SpiderMonkey) stacks', () => {
  test('named, anonymous, closure and async frames', () => {
    const stack = [
      'inner@http://shop.example.com/static/app.js:5:9',
      'Cart/<@http://shop.example.com/static/app.js:7:11',
      'async*outer@http://shop.example.com/static/app.js:9:3',
      'promise callback*load@http://shop.example.com/static/app.js:11:5',
      '@https://cdn.example.net/lib.js:12:1',
      '',
    ].join('\n');
    expect(parseStack(stack)).toEqual([
      { filename: 'http://shop.example.com/static/app.js', function: 'inner', lineno: 5, colno: 9, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'Cart/<', lineno: 7, colno: 11, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'outer', lineno: 9, colno: 3, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'load', lineno: 11, colno: 5, in_app: true },
      { filename: 'https://cdn.example.net/lib.js', lineno: 12, colno: 1, in_app: false },
    ]);
  });

  test('eval and Function frames point at the calling line', () => {
    const stack = [
      'evaluated@http://shop.example.com/static/app.js line 3 > eval:1:7',
      'anonymous@http://shop.example.com/static/app.js line 5 > Function:2:3',
      'run@http://shop.example.com/static/app.js:3:5',
    ].join('\n');
    expect(parseStack(stack)).toEqual([
      { filename: 'http://shop.example.com/static/app.js', function: 'evaluated', lineno: 3, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'anonymous', lineno: 5, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'run', lineno: 3, colno: 5, in_app: true },
    ]);
  });
});

describe('Safari (JavaScriptCore) stacks', () => {
  test('global code, native frames skipped', () => {
    const stack = [
      'myFunction@http://shop.example.com/static/app.js:42:24',
      'map@[native code]',
      'global code@http://shop.example.com/static/app.js:30:4',
      'module code@http://shop.example.com/static/main.js:1:8',
    ].join('\n');
    expect(parseStack(stack)).toEqual([
      { filename: 'http://shop.example.com/static/app.js', function: 'myFunction', lineno: 42, colno: 24, in_app: true },
      { filename: 'http://shop.example.com/static/app.js', function: 'global code', lineno: 30, colno: 4, in_app: true },
      { filename: 'http://shop.example.com/static/main.js', function: 'module code', lineno: 1, colno: 8, in_app: true },
    ]);
  });

  test('anonymous functions and async resumption', () => {
    const stack = [
      '@http://shop.example.com/static/app.js:12:18',
      'asyncFunctionResume@[native code]',
      'loadCart@http://shop.example.com/static/app.js:20:9',
    ].join('\n');
    expect(parseStack(stack).map((f) => [f.function, f.lineno])).toEqual([
      [undefined, 12],
      ['loadCart', 20],
    ]);
  });
});

describe('hostile input', () => {
  test('no stack, a non-string, garbage', () => {
    expect(parseStack(undefined)).toEqual([]);
    expect(parseStack(42 as unknown as string)).toEqual([]);
    expect(parseStack('just a message\nwith two lines')).toEqual([]);
  });

  test('pathological lines parse in linear time', () => {
    const started = performance.now();
    parseStack('a@'.repeat(50000) + '\n' + '    at ' + 'x ('.repeat(50000));
    parseStack(Array(200).fill('a@'.repeat(400)).join('\n'));
    expect(performance.now() - started).toBeLessThan(500);
  });

  test('at most 50 frames from a runaway recursion', () => {
    const stack = 'RangeError: Maximum call stack size exceeded\n' + '    at f (http://shop.example.com/a.js:1:1)\n'.repeat(10000);
    expect(parseStack(stack)).toHaveLength(50);
  });
});
