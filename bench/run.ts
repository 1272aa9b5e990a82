import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BenchContext, effort } from './support/context.js'
import { runRead } from './parts/read.js'
import { runProfile } from './parts/profile.js'
import { runOverhead } from './parts/overhead.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const RESULTS = `${ROOT}bench/results`
mkdirSync(RESULTS, { recursive: true })
const args = process.argv.slice(2)
const ctx = new BenchContext(effort(args.includes('--quick'), undefined))
try {
  if (args[0] === 'profile') {
    for (const s of args.slice(1).filter((a) => !a.startsWith('--'))) console.log(await runProfile(ctx, s, RESULTS, ROOT))
  } else if (args[0] === 'overhead') {
    await runOverhead(ctx, args.length > 1 ? args.slice(1).filter((a) => !a.startsWith('--')) : undefined)
  } else {
    const shapes = args.filter((a) => /^\d+x\d+$/.test(a))
    const r = await runRead(ctx, shapes.length > 0 ? shapes : undefined)
    for (const s of r.shapes) console.log(s.shape, s.commands, 'raw', s.raw.p50.toFixed(0), s.raw.p99.toFixed(0), s.raw.p999.toFixed(0), 'morsel', s.morsel.p50.toFixed(0), s.morsel.p99.toFixed(0), s.morsel.p999.toFixed(0), 'ratio', (s.morsel.p50 / s.raw.p50).toFixed(2), (s.morsel.p99 / s.raw.p99).toFixed(2))
  }
} finally {
  await ctx.close()
}
