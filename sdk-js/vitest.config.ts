import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

export default defineConfig({
  define: { __VIGIL_VERSION__: JSON.stringify(version) },
  test: {
    environment: 'happy-dom',
    environmentOptions: {
      happyDOM: {
        url: 'http://shop.example.com/products/42?ref=mail',
        // Tests fire resource errors themselves; happy-dom must not fetch <script>/<link> URLs.
        settings: { disableJavaScriptFileLoading: true, disableCSSFileLoading: true, handleDisabledFileLoadingAsSuccess: true },
      },
    },
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summaryReporter.ts'],
    setupFiles: ['./test/setup.ts'],
    restoreMocks: true,
    testTimeout: 20000,
  },
});
