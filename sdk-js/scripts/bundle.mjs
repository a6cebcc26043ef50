/**
 * The script-tag bundle, shared by `npm run build` and the size test: esbuild bundles
 * src/global.ts with web-vitals inside (IIFE, ES2022 — web-vitals itself needs ES2022),
 * terser compresses it (about 4% smaller than esbuild's own minifier once gzipped).
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { minify } from 'terser';
import { gzipSync } from 'node:zlib';

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
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js')).text;
  const map = out.outputFiles.find((f) => f.path.endsWith('.map')).text;
  const min = await minify(
    { 'vigil.js': js },
    {
      ecma: 2020,
      // inline: 1 inlines only simple functions: 25 B smaller once gzipped than full inlining.
      compress: { passes: 2, inline: 1 },
      mangle: { toplevel: true },
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
