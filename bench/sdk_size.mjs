/**
 * Browser SDK size: Vigil's script-tag bundle beside the SDKs a site owner would compare it
 * with, all measured the same way in one run — esbuild `--bundle --minify` (browser, IIFE,
 * ES2022, NODE_ENV=production), then gzip -9.
 *
 *   node bench/sdk_size.mjs                 # prints the table
 *   node bench/sdk_size.mjs --write-docs    # and puts it under "## Browser SDK size" in docs/benchmarks.md
 *
 * The other SDKs are installed with npm into a scratch directory (bench/.cache/sdk-size,
 * or $VIGIL_SDK_SIZE_DIR), never into sdk-js's dependencies. Each is bundled from a small
 * entry that initialises it the way its docs' quick start does, so tree-shaking keeps what
 * a real site would ship:
 *
 * - Vigil, as shipped: sdk-js/dist/vigil.min.js (esbuild + terser: `npm run build`), and
 *   src/global.ts through the same plain esbuild as the others;
 * - @sentry/browser, errors only (`init` with a DSN), and with `browserTracingIntegration`;
 * - @grafana/faro-web-sdk with `getWebInstrumentations()`;
 * - posthog-js, `posthog.init` from its default entry.
 *
 * Needs sdk-js's packages (esbuild): `make sdk` installs and builds them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const repo = new URL('..', import.meta.url).pathname;
const sdk = join(repo, 'sdk-js');
const scratch = process.env.VIGIL_SDK_SIZE_DIR || join(repo, 'bench', '.cache', 'sdk-size');
const docs = join(repo, 'docs', 'benchmarks.md');
const HEADING = '## Browser SDK size';

// Pinned so that a rerun measures the same code; bump them to compare newer releases.
const PACKAGES = {
  '@sentry/browser': '11.12.0',
  '@grafana/faro-web-sdk': '2.12.1',
  'posthog-js': '1.449.2',
};

const DSN = 'https://0123456789abcdef0123456789abcdef@o1.ingest.example.com/1';
const ENTRIES = [
  ['@sentry/browser, errors only', `import * as Sentry from '@sentry/browser';\nSentry.init({ dsn: '${DSN}' });\n`],
  [
    '@sentry/browser + browser tracing',
    `import * as Sentry from '@sentry/browser';\nSentry.init({ dsn: '${DSN}', integrations: [Sentry.browserTracingIntegration()], tracesSampleRate: 1 });\n`,
  ],
  [
    '@grafana/faro-web-sdk + web instrumentations',
    `import { getWebInstrumentations, initializeFaro } from '@grafana/faro-web-sdk';\n` +
      `initializeFaro({ url: 'https://faro.example.com/collect', app: { name: 'shop', version: '1.0.0' }, instrumentations: [...getWebInstrumentations()] });\n`,
  ],
  ['posthog-js', `import posthog from 'posthog-js';\nposthog.init('phc_example', { api_host: 'https://posthog.example.com' });\n`],
];

const fail = (message) => {
  console.error(`bench/sdk_size.mjs: ${message}`);
  process.exit(1);
};

const sdkRequire = createRequire(join(sdk, 'package.json'));
let esbuild;
try {
  esbuild = sdkRequire('esbuild');
} catch {
  fail('esbuild is not installed in sdk-js: run `make sdk` (npm ci + build) first');
}

/** The scratch project with the pinned packages (npm install only when something is missing). */
const installCompetitors = () => {
  mkdirSync(scratch, { recursive: true });
  const manifest = join(scratch, 'package.json');
  const wanted = JSON.stringify({ name: 'vigil-sdk-size', private: true, dependencies: PACKAGES }, null, 2) + '\n';
  const installed = Object.entries(PACKAGES).every(([name, version]) => {
    const file = join(scratch, 'node_modules', name, 'package.json');
    return existsSync(file) && JSON.parse(readFileSync(file, 'utf8')).version === version;
  });
  if (installed && existsSync(manifest) && readFileSync(manifest, 'utf8') === wanted) return;
  writeFileSync(manifest, wanted);
  console.error(`installing ${Object.entries(PACKAGES).map(([n, v]) => `${n}@${v}`).join(', ')} into ${scratch} …`);
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], { cwd: scratch, stdio: 'inherit' });
  } catch (error) {
    fail(`npm install in ${scratch} failed (${error.message}); the packages come from the npm registry`);
  }
};

const sizes = (code) => ({ min: Buffer.byteLength(code), gzip: gzipSync(Buffer.from(code), { level: 9 }).length });

/**
 * esbuild --bundle --minify, as every SDK here is measured: of `contents` resolved from `dir`,
 * or of the file `dir` itself when `contents` is null.
 */
const bundle = async (contents, dir, extra = {}) => {
  const out = await esbuild.build({
    ...(contents == null ? { entryPoints: [dir] } : { stdin: { contents, resolveDir: dir, sourcefile: 'entry.js', loader: 'js' } }),
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"', ...extra },
    legalComments: 'none',
    write: false,
    logLevel: 'error',
  });
  return out.outputFiles[0].text;
};

const version = (dir, name) => JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;

const main = async () => {
  const shipped = join(sdk, 'dist', 'vigil.min.js');
  if (!existsSync(shipped)) fail('sdk-js/dist/vigil.min.js is missing: run `make sdk` (or `npm run build` in sdk-js)');
  installCompetitors();
  const vigilVersion = JSON.parse(readFileSync(join(sdk, 'package.json'), 'utf8')).version;
  const webVitals = version(sdk, 'web-vitals');
  const rows = [
    [`Vigil ${vigilVersion}, dist/vigil.min.js as shipped (esbuild + terser)`, sizes(readFileSync(shipped, 'utf8'))],
    [
      `Vigil ${vigilVersion}, src/global.ts with plain esbuild`,
      // the entry itself: through an import, sdk-js's "sideEffects": false would shake it away
      sizes(await bundle(null, join(sdk, 'src', 'global.ts'), { __VIGIL_VERSION__: JSON.stringify(vigilVersion) })),
    ],
  ];
  for (const [label, entry] of ENTRIES) {
    const name = label.split(/[ ,]/)[0];
    rows.push([`${name} ${version(scratch, name)}${label.slice(name.length)}`, sizes(await bundle(entry, scratch))]);
  }

  const kb = (bytes) => (bytes / 1024).toFixed(1);
  const table = [
    '| SDK (what is bundled) | min | min+gzip -9 | × Vigil (min+gzip) |',
    '|---|---:|---:|---:|',
    ...rows.map(([label, s]) => `| ${label} | ${s.min.toLocaleString('en')} B (${kb(s.min)} KB) | ${s.gzip.toLocaleString('en')} B (${kb(s.gzip)} KB) | ${(s.gzip / rows[0][1].gzip).toFixed(1)} |`),
  ].join('\n');
  const cpu = os.cpus()[0]?.model || 'unknown CPU';
  const machine = `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, esbuild ${esbuild.version}, web-vitals ${webVitals} (inside Vigil), ${new Date().toISOString().slice(0, 10)}`;
  console.log(table);
  console.log(`\n${machine}`);
  if (process.argv.includes('--write-docs')) writeDocs(table, machine);
};

/** Replace (or add) the "## Browser SDK size" section of docs/benchmarks.md, leaving the others alone. */
const writeDocs = (table, machine) => {
  const section = `${HEADING}

\`bench/sdk_size.mjs\` bundles every SDK the same way in one run — esbuild \`--bundle --minify\`
(IIFE, browser, ES2022, \`NODE_ENV=production\`), then gzip -9 — from an entry that initialises
it as its quick start does, so tree-shaking keeps what a site would really ship. The other
SDKs are installed into a scratch directory (\`bench/.cache/sdk-size\`), pinned in the script.
Vigil is measured twice: the file we ship (esbuild, then terser: what \`npm run build\`
writes, and what the size test in \`sdk-js/test/size.test.ts\` holds to ≤ 10 KB) and the same
source through the plain esbuild used for the others.

\`\`\`bash
node bench/sdk_size.mjs                # after \`make sdk\`; installs the others on first use
node bench/sdk_size.mjs --write-docs   # rewrites this section
\`\`\`

Machine: ${machine} (sizes do not depend on the machine).

${table}

Sentry's numbers are with its defaults, debug logging included (defining
\`__SENTRY_DEBUG__: false\`, as Sentry's tree-shaking guide suggests, takes about 1.5 KB off
the errors-only bundle). Vigil's bundle carries everything in docs/sdk.md: Web Vitals
through Google's \`web-vitals\`, errors with stack parsing and breadcrumbs, API failures,
behaviour, four transports, retries and storage.
`;
  const text = readFileSync(docs, 'utf8');
  const start = text.indexOf(HEADING + '\n');
  let next;
  if (start < 0) next = text.replace(/\n*$/, '\n\n') + section;
  else {
    const after = text.indexOf('\n## ', start + HEADING.length);
    next = text.slice(0, start) + section + (after < 0 ? '' : text.slice(after));
  }
  writeFileSync(docs, next);
  console.error(`wrote "${HEADING}" in ${docs}`);
};

await main();
