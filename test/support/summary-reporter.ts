import type { Reporter, TestModule } from 'vitest/node'

/**
 * Ends the run with one plain `N passed, N failed` line, the form CI reads; vitest's own
 * summary is not in that form.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const mod of testModules) {
      let failedHere = 0
      for (const test of mod.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failedHere++
        else skipped++
      }
      // A file that failed to load, or whose hooks failed, must count as a failure even when
      // none of its tests ran.
      if (mod.state() === 'failed' && failedHere === 0) failedHere = 1
      failed += failedHere
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`)
  }
}
