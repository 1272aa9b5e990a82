// Preloaded into a server process by the fault tests (NODE_OPTIONS=--expose-gc --import=…): on
// SIGUSR2 it runs a full garbage collection and writes the heap figures to MORSEL_HEAP_PROBE_FILE,
// so a test can tell retained memory from garbage not yet collected.
import { writeFileSync } from 'node:fs'

const file = process.env.MORSEL_HEAP_PROBE_FILE
if (file !== undefined && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc()
    globalThis.gc()
    const m = process.memoryUsage()
    writeFileSync(file, JSON.stringify({ at: Date.now(), heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers }))
  })
}
