/**
 * Adds the plain closing line CI reads ("vitest: N passed, N failed") after vitest's own
 * summary, which CI does not parse.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      // A file that failed to load or threw outside its tests counts as one failure.
      if (module.errors().length) failed++;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state == 'passed') passed++;
        else if (state == 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '') + '\n');
  }
}
