/**
 * The loader snippet in the docs is the built one: `npm run snippet` rebuilds
 * dist/loader.min.js and writes it into every `<script data-src=…>` block of README.md and
 * docs/sdk.md (the code is the one line between the opening tag and `</script>`);
 * test/loaderSize.test.ts fails while a copy differs from the build.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleLoader, root } from './bundle.mjs';

export const DOCS = ['README.md', 'docs/sdk.md'].map((f) => root + '../' + f);
const BLOCK = /(<script data-src=[^>]*>\n)([^\n]*)(\n<\/script>)/g;

/** The snippet code in each loader block of a document. */
export const snippetsIn = (text) => [...text.matchAll(BLOCK)].map((m) => m[2]);

/** The document with every loader block's code replaced by `code`. */
export const withSnippet = (text, code) => text.replace(BLOCK, (_, open, _old, close) => open + code + close);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const code = await bundleLoader();
  mkdirSync(root + 'dist', { recursive: true });
  writeFileSync(root + 'dist/loader.min.js', code);
  for (const file of DOCS) {
    const text = readFileSync(file, 'utf8');
    if (!snippetsIn(text).length) throw new Error(`${file}: no <script data-src=…> loader block to fill`);
    writeFileSync(file, withSnippet(text, code));
    console.log(`${file.replace(root + '../', '')}: loader snippet written (${code.length} B)`);
  }
}
