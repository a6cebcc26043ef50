/**
 * Parse `Error.prototype.stack` into contract frames, innermost call first (the order the
 * browser prints). Handles the three engines' formats:
 *
 * - V8 (Chromium, Edge, Node): `    at fn (https://x/app.js:42:21)`, `    at https://x/app.js:1:2`,
 *   `    at async fn (...)`, eval frames `at eval (eval at f (https://x/app.js:3:5), <anonymous>:1:1)`.
 * - SpiderMonkey (Firefox): `fn@https://x/app.js:42:21`, `Foo/<@...`, async frames
 *   `async*fn@...`, eval frames `fn@https://x/app.js line 2 > eval:1:5`.
 * - JavaScriptCore (Safari): `fn@https://x/app.js:42:21`, `global code@...`, `[native code]`.
 *
 * Eval frames are reported at the place that called eval, the only location a source map
 * can resolve. Lines without a location (`at Array.map (<anonymous>)`, `[native code]`)
 * are skipped, and so are lines over 1000 characters.
 */
import type { Frame } from './contract';

const MAX_FRAMES = 50;
const V8 = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?\s*$/;
const V8_EVAL = /\((\S+?):(\d+):(\d+)\)/;
const GECKO = /^\s*(.*?)@(.+?)(?::(\d+))?(?::(\d+))?\s*$/;
const GECKO_EVAL = /^(\S+) line (\d+)(?: > eval line \d+)* > (?:eval|Function)$/;

const frame = (fn: string | undefined, file: string, line?: string, col?: string): Frame => {
  const f: Frame = { filename: file.slice(0, 8192) };
  if (fn) f.function = fn.slice(0, 1024);
  if (line) f.lineno = +line;
  if (col) f.colno = +col;
  f.in_app = typeof location != 'undefined' && file.indexOf(location.origin + '/') == 0;
  return f;
};

const parseV8 = (line: string): Frame | undefined => {
  const m = V8.exec(line);
  if (!m) return;
  const fn = m[1] && m[1].replace(/^async /, '');
  if (/^eval at /.test(m[2])) {
    const e = V8_EVAL.exec(m[2]);
    return e ? frame(fn, e[1], e[2], e[3]) : undefined;
  }
  return frame(fn, m[2], m[3], m[4]);
};

const parseGecko = (line: string): Frame | undefined => {
  const m = GECKO.exec(line);
  if (m && m[3]) {
    const fn = m[1].replace(/^.*\*/, ''); // Firefox async frames: "async*fn", "promise callback*fn"
    const e = GECKO_EVAL.exec(m[2]);
    return e ? frame(fn, e[1], e[2]) : frame(fn, m[2], m[3], m[4]);
  }
};

export const parseStack = (stack: string | undefined): Frame[] => {
  const frames: Frame[] = [];
  if (typeof stack != 'string') return frames;
  // A V8 stack starts with the message, which may itself look like a Gecko frame
  // ("failed for a@b.c:80"), so the format is chosen once for the whole stack.
  const parse = /^\s*at .*:\d+/m.test(stack) ? parseV8 : parseGecko;
  for (const line of stack.split('\n')) {
    // Long lines are messages, not frames; skipping them keeps the regexes linear.
    const f = line.length < 1000 ? parse(line) : undefined;
    if (f) frames.push(f);
    if (frames.length == MAX_FRAMES) break;
  }
  return frames;
};
