// One bundle per Sentry major: src/app.js imports '@sentry/browser', which esbuild resolves to
// the npm alias of that major (package.json: sentry8 … sentry11). Each bundle is minified with
// its source map beside it, as a Sentry user ships it: dist/<major>/app.min.js(.map).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { dependencies } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url)));
const majors = Object.keys(dependencies).filter((name) => /^sentry\d+$/.test(name)).map((name) => name.slice(6));

await Promise.all(majors.map((major) => build({
  entryPoints: ['src/app.js'],
  bundle: true,
  minify: true,
  sourcemap: true,
  target: 'es2020',
  alias: { '@sentry/browser': `sentry${major}` },
  outfile: `dist/${major}/app.min.js`,
  logLevel: 'warning',
})));
console.log(`built dist/{${majors.join(',')}}/app.min.js`);
