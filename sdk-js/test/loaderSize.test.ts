// @vitest-environment node
/**
 * The loader snippet is inlined in every page, so its minified bytes count (not gzip): at
 * most 1 KB. The copies in README.md and docs/sdk.md are the build's (`npm run snippet`).
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
// @ts-expect-error -- a plain .mjs build script, no declarations
import { bundleLoader, gzipSize } from '../scripts/bundle.mjs';
// @ts-expect-error -- a plain .mjs build script, no declarations
import { DOCS, snippetsIn } from '../scripts/snippet.mjs';

const LIMIT = 1024;

test(`the loader snippet is at most ${LIMIT} bytes minified, with everything in it`, async () => {
  const code = (await bundleLoader()) as string;
  console.log(`loader.min.js: ${code.length} B minified, ${gzipSize(code)} B min+gzip (limit ${LIMIT} minified)`);
  expect(code.length).toBeLessThanOrEqual(LIMIT);
  for (const marker of ['addEventListener("error",', '!0)', '"unhandledrejection"', 'removeEventListener', 'currentScript', 'async', 'nonce', 'captureException'])
    expect(code, marker).toContain(marker);
  expect(code).not.toContain('</script');
}, 60_000);

test('README.md and docs/sdk.md show the built snippet (else run `npm run snippet`)', async () => {
  const code = (await bundleLoader()) as string;
  for (const file of DOCS as string[]) {
    const copies = snippetsIn(readFileSync(file, 'utf8')) as string[];
    expect(copies.length, file).toBeGreaterThan(0);
    for (const copy of copies) expect(copy, file + ' (run `npm run snippet` in sdk-js/)').toBe(code);
  }
}, 60_000);
