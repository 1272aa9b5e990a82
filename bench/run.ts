import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { runCluster } from './parts/cluster.js'
import { runColdStart } from './parts/coldstart.js'
import { runHttp } from './parts/http.js'
import { profileMaterialize, runMaterialize, runPit } from './parts/offline.js'
import { runOverhead } from './parts/overhead.js'
import { runProfile } from './parts/profile.js'
import { runRead } from './parts/read.js'
import { BenchContext, effort } from './support/context.js'
import { rows, table, type SuiteResults } from './support/report.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const RESULTS = `${ROOT}bench/results`
mkdirSync(RESULTS, { recursive: true })

const PARTS = ['read', 'http', 'cluster', 'materialize', 'pit', 'coldstart'] as const
type Part = (typeof PARTS)[number]

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const words = args.filter((a) => !a.startsWith('--'))
const ctx = new BenchContext(effort(quick, undefined))

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return `load average: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')}`
  }
}

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

async function suite(parts: readonly Part[]): Promise<void> {
  const started = new Date()
  const loadBefore = uptime()
  const results: SuiteResults = {}
  const loads: Record<string, string> = {}
  const failures: Record<string, string> = {}
  for (const part of parts) {
    ctx.log(`part ${part}`)
    // A failed part is reported and the others still run: one broken baseline should not cost the rest of a 20-minute run.
    try {
      if (part === 'read') results.read = await runRead(ctx)
      else if (part === 'http') results.http = await runHttp(ctx)
      else if (part === 'cluster') results.cluster = await runCluster(ctx)
      else if (part === 'materialize') results.materialize = await runMaterialize(ctx)
      else if (part === 'pit') results.pit = await runPit(ctx)
      else results.coldstart = await runColdStart(ctx)
    } catch (err) {
      failures[part] = (err as Error).stack ?? String(err)
      ctx.log(`part ${part} failed: ${(err as Error).message}`)
    }
    loads[part] = loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')
  }
  const loadAfter = uptime()
  const machine = {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis: redisVersion(),
    shared: 'a shared machine: other sessions run tests on it at the same time',
  }
  const table_ = rows(results)
  const missed = table_.filter((r) => r.met === false)
  const md = [
    `# Morsel benchmarks${quick ? ' (--quick: smoke test, short runs, small data; not figures to quote)' : ''}`,
    '',
    `${started.toISOString()} to ${new Date().toISOString()}, parts: ${parts.join(', ')}.`,
    '',
    `Machine: ${machine.cpus}, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.redis}; ${machine.shared}.`,
    '',
    `Load before: \`${loadBefore}\``,
    '',
    `Load after: \`${loadAfter}\` (1/5/15-minute load average after each part: ${Object.entries(loads)
      .map(([p, l]) => `${p} ${l}`)
      .join('; ')})`,
    '',
    table(table_),
    '',
    `Targets met: ${table_.filter((r) => r.met === true).length} of ${table_.filter((r) => r.met !== undefined).length}.${missed.length > 0 ? ` Missed: ${missed.map((r) => `${r.part} ${r.figure}`).join('; ')}.` : ''}`,
    '',
    ...Object.entries(failures).map(([p, e]) => `**Part ${p} failed:**\n\n\`\`\`\n${e}\n\`\`\`\n`),
    'Latencies are medians over the repetitions of each percentile; see bench/README.md for what each part measures.',
    '',
  ].join('\n')
  writeFileSync(`${RESULTS}/latest.md`, md)
  writeFileSync(`${RESULTS}/latest.json`, `${JSON.stringify({ started: started.toISOString(), quick, parts, machine, load: { before: loadBefore, after: loadAfter, perPart: loads }, table: table_, failures, results }, null, 2)}\n`)
  process.stdout.write(`\n${md}\nWritten: bench/results/latest.md, bench/results/latest.json\n`)
  if (Object.keys(failures).length > 0) process.exitCode = 1
}

try {
  if (words[0] === 'profile' && words[1] === 'materialize') {
    console.log(await profileMaterialize(ctx, Number(words[2] ?? 100_000), RESULTS, ROOT))
  } else if (words[0] === 'profile') {
    for (const s of words.slice(1)) console.log(await runProfile(ctx, s, RESULTS, ROOT))
  } else if (words[0] === 'overhead') {
    await runOverhead(ctx, words.length > 1 ? words.slice(1) : undefined)
  } else {
    const unknown = words.filter((w) => !(PARTS as readonly string[]).includes(w))
    if (unknown.length > 0) throw new Error(`Unknown part(s) ${unknown.join(', ')}; parts: ${PARTS.join(', ')}, or 'profile <shape>', 'overhead [shapes]'.`)
    await suite(words.length > 0 ? (words as Part[]) : PARTS)
  }
} finally {
  await ctx.close()
}
