import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { BenchContext } from '../support/context.js'
import { makeRequests, SHAPES } from '../support/dataset.js'
import { summarize, type Percentiles } from '../support/stats.js'
import { stopServer } from './http.js'

const CLI = fileURLToPath(new URL('../support/morsel-cli.js', import.meta.url))

export interface ColdStartResult {
  readonly shape: string
  /** From spawning `morsel serve` to the first 200 answer, µs (medians over the runs). */
  readonly startToFirstUs: number
  /** The first successful request's own latency, µs. */
  readonly firstRequestUs: number
  /** The same process's steady state afterwards, one request at a time. */
  readonly steady: Percentiles
  readonly runs: ReadonlyArray<{ startToFirstUs: number; firstRequestUs: number; steadyP99: number }>
}

const nowUs = (): number => Number(process.hrtime.bigint()) / 1000

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/get-online-features', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
    req.end(body)
  })
}

/**
 * `morsel serve` started as a user starts it (the CLI, in a new process) on the bench repository;
 * the bench polls with the credit-scoring request until one is answered. The first answer pays for
 * loading the registry, connecting to Redis and compiling the read plan; it is compared with the
 * p99 of the same process once warm.
 */
export async function runColdStart(ctx: BenchContext): Promise<ColdStartResult> {
  const { repo } = await ctx.standalone()
  const s = SHAPES.find((x) => x.id === '1x15')!
  const bodies = makeRequests(s, repo.entities, 1000, 19).map((entities) => JSON.stringify({ features: s.features, entities }))
  const runs: Array<{ startToFirstUs: number; firstRequestUs: number; steadyP99: number; steady: Percentiles }> = []
  const port = 20_000 + (process.pid % 20_000)
  for (let run = 0; run < (ctx.effort.quick ? 1 : 3); run++) {
    const t0 = nowUs()
    const child = spawn(process.execPath, [CLI, 'serve', '-c', repo.path, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] })
    // Its banner goes to stderr: kept for the error message only.
    let said = ''
    child.stderr.on('data', (c: Buffer) => (said += c.toString()))
    try {
      let first: { at: number; latency: number } | undefined
      for (let i = 0; first === undefined; i++) {
        if (child.exitCode !== null) throw new Error(`morsel serve exited with ${child.exitCode}: ${said}`)
        if (nowUs() - t0 > 60_000_000) throw new Error(`morsel serve answered nothing within 60 s: ${said}`)
        const sent = nowUs()
        const status = await post(port, bodies[0]!)
        if (status === 200) first = { at: nowUs(), latency: nowUs() - sent }
        else await new Promise((r) => setTimeout(r, 2))
      }
      const n = ctx.effort.quick ? 500 : 3000
      const lat = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const sent = nowUs()
        await post(port, bodies[i % bodies.length]!)
        lat[i] = nowUs() - sent
      }
      const steady = summarize(lat)
      runs.push({ startToFirstUs: first.at - t0, firstRequestUs: first.latency, steadyP99: steady.p99, steady })
      ctx.log(`cold start run ${run + 1}: first answer ${((first.at - t0) / 1000).toFixed(0)} ms after spawn, its latency ${(first.latency / 1000).toFixed(2)} ms, steady p99 ${(steady.p99 / 1000).toFixed(2)} ms`)
    } finally {
      await stopServer(child)
    }
  }
  const mid = <T>(xs: T[], key: (x: T) => number): number => xs.map(key).sort((a, b) => a - b)[xs.length >> 1]!
  const median = [...runs].sort((a, b) => a.firstRequestUs - b.firstRequestUs)[runs.length >> 1]!
  return { shape: s.id, startToFirstUs: mid(runs, (r) => r.startToFirstUs), firstRequestUs: median.firstRequestUs, steady: median.steady, runs: runs.map(({ steady, ...r }) => (void steady, r)) }
}
