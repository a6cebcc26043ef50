/**
 * The script-tag bundle, shared by `npm run build` and the size test: esbuild bundles
 * src/global.ts with web-vitals inside (IIFE, ES2022 — web-vitals itself needs ES2022),
 * terser compresses it (about 4% smaller than esbuild's own minifier once gzipped).
 *
 * web-vitals comes from its unminified ES modules (`dist/modules/`), not its prebuilt
 * `dist/web-vitals.js`, so that its soft-navigation code, dead in Vigil, can go:
 * see webVitalsForVigil.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { minify } from 'terser';
import { gzipSync } from 'node:zlib';

const WEB_VITALS_MODULES = /[\\/]node_modules[\\/]web-vitals[\\/]dist[\\/]modules[\\/].*\.js$/;

/**
 * What Vigil never uses, cut from web-vitals' modules: `[name, pattern, replacement, at least
 * this many matches, only in the module whose path ends so]`. Vigil reads a metric's `name`,
 * `value`, `id`, `navigationType` and `entries` only (src/vitals.ts), and calls each on*()
 * without options but INP, which it takes with `reportAllChanges` (see onVitals).
 */
const CUTS = [
  // Tests for what only soft navigations bring: their entries, their metrics.
  ['soft-navigation entries', /\b[\w.]+ === '(?:soft-navigation|interaction-contentful-paint)'/g, 'false', 4],
  // INP: every change; the others are sent once, final: never `reportAllChanges`.
  ['reportAllChanges of INP', /\bopts\.reportAllChanges\b/g, 'true', 2, '/onINP.js'],
  ['reportAllChanges', /\bopts\.reportAllChanges\b/g, 'false', 4],
  // No `rating`: the processor rates every vital from contract/vitals.json (one source).
  ['rating', /^\s*metric\.rating = getRating\(metric\.value, thresholds\);$|^\s*rating: 'good',.*$/gm, '', 2],
  // A soft navigation's id, interaction, URL and start time, copied from metric to metric.
  ['soft-navigation fields', /^\s*navigation(?:Id|InteractionId|URL|StartTime): .*,$|^\s*const hardNavId = .*;$|^\s*metric\.navigationId = .*;$/gm, '', 6],
  ['soft-navigation arguments', /, metric\.navigationId, metric\.navigationInteractionId, metric\.navigationURL, getBFCacheRestoreTime\(\)\)/g, ')', 5],
  ['soft-navigation parameters', /, navigationId(?: = 0)?, navigationInteractionId, navigationURL, navigationStartTime\)/g, ')', 7],
  // The hooks only web-vitals' attribution build sets, and the soft navigations' entry maps.
  ['attribution hooks', /^\s*(?:this\.)?_(?:on[A-Z]\w+|softNavigationEntryMap)(?:\?\.\(\w+\))?;$/gm, '', 9],
];

/**
 * Modules of web-vitals replaced whole: `[path end, what the original must declare, the
 * replacement]`.
 * - Vigil never passes `reportSoftNavs` (it reports SPA navigations itself), so web-vitals
 *   never observes `soft-navigation` or `interaction-contentful-paint` entries: the
 *   `checkSoftNavsEnabled` gate is `false` and the handlers of those entries become
 *   unreachable for terser to drop (about 450 B min+gzip).
 * - `initUnique(opts, Manager)` shares a manager between calls given the same options
 *   object (the attribution build's wrappers do that); Vigil calls each on*() once without
 *   options, so every call gets a fresh `{}` and a new manager anyway.
 */
const REPLACED = [
  [
    '/lib/softNavs.js',
    [/^export const checkSoftNavsEnabled\b/m, /^export const storeSoftNavEntry\b/m],
    'export const checkSoftNavsEnabled = () => false;\nexport const storeSoftNavEntry = () => {};\n',
  ],
  ['/lib/initUnique.js', [/^export function initUnique\(identityObj, ClassObj\)/m], 'export const initUnique = (identityObj, ClassObj) => new ClassObj();\n'],
];

/**
 * An esbuild plugin: web-vitals from its ES modules, without what Vigil never turns on or
 * reads (REPLACED, CUTS): with the soft-navigation fields of every metric (120 B), no
 * `reportAllChanges` but INP's, no `rating` (55 B), no attribution hooks. If a web-vitals
 * release reshapes that code the build fails here rather than shipping it half cut.
 */
const webVitalsForVigil = () => {
  const cut = Object.fromEntries([...REPLACED, ...CUTS].map(([name]) => [name, 0]));
  return {
    name: 'web-vitals-for-vigil',
    setup(b) {
      b.onResolve({ filter: /^web-vitals$/ }, () => ({ path: root + 'node_modules/web-vitals/dist/modules/index.js' }));
      b.onLoad({ filter: WEB_VITALS_MODULES }, ({ path }) => {
        let text = readFileSync(path, 'utf8');
        const file = path.replace(/\\/g, '/');
        for (const [end, declares, replacement] of REPLACED)
          if (file.endsWith(end)) {
            if (!declares.every((d) => d.test(text)))
              throw new Error(`web-vitals ${end} changed: review webVitalsForVigil in scripts/bundle.mjs`);
            cut[end]++;
            text = replacement;
          }
        for (const [name, pattern, replacement, , only] of CUTS)
          if (!only || file.endsWith(only)) text = text.replace(pattern, () => (cut[name]++, replacement));
        return { contents: text, loader: 'js' };
      });
      b.onEnd(() => {
        if (REPLACED.some(([end]) => cut[end] != 1) || CUTS.some(([name, , , least]) => cut[name] < least))
          throw new Error(`web-vitals' code changed: not every cut applied (${JSON.stringify(cut)}): review webVitalsForVigil in scripts/bundle.mjs`);
      });
    },
  };
};

/**
 * Property names terser may shorten: web-vitals' private members (`_name`, its own build
 * mangles them the same way; nothing of Vigil's starts with `_`: `__vigil__` is not matched),
 * its visibility watcher's, and Vigil's internal members — queue, transport, session and
 * store methods (src/queue.ts, transport.ts, session.ts, lib/storage.ts). Never a contract
 * field, an option or API name (docs/sdk.md), a DOM name, nor a name a built-in also has
 * (`push`, `get`, `keys`, `all`…): mangling goes by name across the whole bundle.
 */
const INTERNAL_MEMBERS = /^(?:_[A-Za-z].*|firstHiddenTime|onHidden|flushHidden|setStore|sendNow|visitorId|sessionId|persist|del)$/;

export const root = new URL('..', import.meta.url).pathname;
export const version = JSON.parse(readFileSync(root + 'package.json', 'utf8')).version;
export const esbuildCommon = {
  absWorkingDir: root,
  bundle: true,
  target: 'es2022',
  define: { __VIGIL_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
};

/** The minified IIFE: `{ code, map }` (map is a JSON string). */
export const bundleIife = async () => {
  const out = await build({
    ...esbuildCommon,
    entryPoints: ['src/global.ts'],
    outfile: 'vigil.js',
    format: 'iife',
    write: false,
    sourcemap: 'external',
    // esbuild's syntax pass before terser's: 90 B smaller once gzipped.
    minifySyntax: true,
    plugins: [webVitalsForVigil()],
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js')).text;
  const map = out.outputFiles.find((f) => f.path.endsWith('.map')).text;
  const min = await minify(
    { 'vigil.js': js },
    {
      ecma: 2020,
      // inline: 1 inlines only simple functions: 25 B smaller once gzipped than full inlining.
      compress: { passes: 2, inline: 1 },
      mangle: { toplevel: true, properties: { regex: INTERNAL_MEMBERS } },
      sourceMap: { content: map, filename: 'vigil.min.js', url: 'vigil.min.js.map' },
    },
  );
  return { code: min.code, map: min.map };
};

/** min+gzip bytes, gzip level 9 (how the issue measures every SDK). */
export const gzipSize = (code) => gzipSync(Buffer.from(code), { level: 9 }).length;

/**
 * The inline loader snippet (src/loader.ts): a plain script of its own, no imports at run
 * time, small enough to inline in every page (≤ 1 KB minified — inlined code is not gzipped
 * on its own). ES2017, so that the first line of a page does not need a newer browser than
 * an older one can parse.
 */
export const bundleLoader = async () => {
  const out = await build({ ...esbuildCommon, entryPoints: ['src/loader.ts'], format: 'iife', target: 'es2017', write: false });
  const min = await minify(out.outputFiles[0].text, { ecma: 2017, compress: { passes: 3 }, mangle: { toplevel: true } });
  return min.code;
};
