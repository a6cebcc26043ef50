/**
 * Build dist/: the script-tag bundle (dist/vigil.min.js, `window.Vigil`, web-vitals
 * inside), the ES module (dist/vigil.esm.js, web-vitals left as an import so apps that
 * already use it share one copy), the type declarations and the inline loader snippet
 * (dist/loader.min.js). `npm run build`.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { bundleIife, bundleLoader, esbuildCommon, gzipSize, root } from './bundle.mjs';

rmSync(root + 'dist', { recursive: true, force: true });
mkdirSync(root + 'dist');
const iife = await bundleIife();
writeFileSync(root + 'dist/vigil.min.js', iife.code);
writeFileSync(root + 'dist/vigil.min.js.map', iife.map);
await build({ ...esbuildCommon, entryPoints: ['src/index.ts'], outfile: 'dist/vigil.esm.js', format: 'esm', external: ['web-vitals'], sourcemap: true });
execFileSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', '-p', root + 'tsconfig.build.json'], { stdio: 'inherit' });
console.log(`dist/vigil.min.js: ${iife.code.length} B minified, ${gzipSize(iife.code)} B min+gzip`);
const loader = await bundleLoader();
writeFileSync(root + 'dist/loader.min.js', loader);
console.log(`dist/loader.min.js: ${loader.length} B minified, ${gzipSize(loader)} B min+gzip`);
