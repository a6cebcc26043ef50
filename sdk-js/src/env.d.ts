/** The package version, replaced at build time (scripts/build.mjs, vitest.config.ts). */
declare const __VIGIL_VERSION__: string;
