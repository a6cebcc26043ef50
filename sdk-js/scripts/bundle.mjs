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
// Tests for what only soft navigations bring: their entries, their metrics.
const SOFT_NAV_ENTRY = /\b[\w.]+ === '(?:soft-navigation|interaction-contentful-paint)'/g;
// Vigil calls each on*() without options: never `reportAllChanges`.
const REPORT_ALL_CHANGES = /\bopts\.reportAllChanges\b/g;

/**
 * An esbuild plugin: web-vitals from its ES modules, without what Vigil never turns on.
 * Vigil never passes `reportSoftNavs` (it reports SPA navigations itself), so web-vitals
 * never observes `soft-navigation` or `interaction-contentful-paint` entries: the
 * `checkSoftNavsEnabled` gate becomes `false` and the handlers of those entries become
 * unreachable for terser to drop (about 450 B min+gzip); nor does Vigil pass
 * `reportAllChanges` (each metric is sent once, final: 30 B more). If a web-vitals release reshapes
 * that code the build fails here rather than shipping it half cut.
 */
const webVitalsForVigil = () => {
  const cut = { gate: 0, branches: 0, options: 0 };
  return {
    name: 'web-vitals-for-vigil',
    setup(b) {
      b.onResolve({ filter: /^web-vitals$/ }, () => ({ path: root + 'node_modules/web-vitals/dist/modules/index.js' }));
      b.onLoad({ filter: WEB_VITALS_MODULES }, ({ path }) => {
        let text = readFileSync(path, 'utf8');
        if (path.endsWith('/lib/softNavs.js')) {
          if (!/export const checkSoftNavsEnabled\b/.test(text) || !/export const storeSoftNavEntry\b/.test(text))
            throw new Error('web-vitals lib/softNavs.js changed: review webVitalsForVigil in scripts/bundle.mjs');
          cut.gate++;
          text = 'export const checkSoftNavsEnabled = () => false;\nexport const storeSoftNavEntry = () => {};\n';
        }
        text = text.replace(SOFT_NAV_ENTRY, () => (cut.branches++, 'false')).replace(REPORT_ALL_CHANGES, () => (cut.options++, 'false'));
        return { contents: text, loader: 'js' };
      });
      b.onEnd(() => {
        if (cut.gate != 1 || cut.branches < 4 || cut.options < 5)
          throw new Error(`web-vitals' code changed: not every cut applied (${JSON.stringify(cut)}): review webVitalsForVigil in scripts/bundle.mjs`);
      });
    },
  };
};

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
      // web-vitals' private members are `_name` (its own build mangles them the same way);
      // nothing of Vigil's is (`__vigil__` is not matched).
      mangle: { toplevel: true, properties: { regex: /^_[A-Za-z]/ } },
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
