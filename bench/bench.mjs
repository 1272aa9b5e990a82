#!/usr/bin/env node
// `npm run bench [-- parts…] [--quick]`: compiles the suite together with the sources into
// bench/.build and runs it with plain Node. Not through jiti: its module interop sits between every
// imported binding and its caller (decodeValue measured 6.5× slower), which would slow Morsel and
// the baselines alike and hide where the time goes.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const build = `${root}bench/.build/`
const entry = `${build}bench/run.js`
const started = Date.now()

const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}bench/tsconfig.json`], { encoding: 'utf8' })
if (tsc.status !== 0) {
  // Type errors elsewhere in the tree (work in progress) do not stop the emit; a missing output does.
  process.stderr.write(`${tsc.stdout}${tsc.stderr}`)
  if (!existsSync(entry) || statSync(entry).mtimeMs < started - 1000) {
    process.stderr.write('bench: the compile produced no runnable suite (see the errors above).\n')
    process.exit(1)
  }
  process.stderr.write('bench: compiled with the type errors above; running anyway.\n')
}
// src/cli reads the package version from two folders up, as it does from dist/.
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'))
writeFileSync(`${build}package.json`, JSON.stringify({ name: 'morsel-bench-build', version: pkg.version, type: 'module', private: true }))
if (!process.argv.includes('--build-only')) await import(pathToFileURL(entry).href)
