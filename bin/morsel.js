#!/usr/bin/env node
// The `morsel` command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('morsel is not built: run `npm install` (or `npm run build`) in the Morsel project first.\n')
  process.exit(1)
}
const { main } = await import(entry.href)
process.exitCode = await main(process.argv)
