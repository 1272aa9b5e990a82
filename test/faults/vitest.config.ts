import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * `npm run test:faults`: the fault tests too long for `npm test` (test/faults/*.long.ts), run one
 * file at a time with the same reporters. The rest of test/faults runs in `npm test`.
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/faults/**/*.long.ts'],
    maxWorkers: 1,
    testTimeout: 300_000,
    hookTimeout: 180_000,
    allowOnly: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
