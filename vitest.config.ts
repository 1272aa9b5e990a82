import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Stores under test are real servers shared between files; each file uses its own project
    // namespace, so files may run in parallel, but not so many that a 2-core machine thrashes.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    allowOnly: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
