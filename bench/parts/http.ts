import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchContext } from '../support/context.js'
import { makeRequests, SHAPES } from '../support/dataset.js'
import type { LoadConfig, LoadResult } from '../support/loadgen.js'

const SERVERS = fileURLToPath(new URL('../support/http-servers.js', import.meta.url))
const LOADGEN = fileURLToPath(new URL('../support/loadgen.js', import.meta.url))

export type ServerKind = 'bare' | 'morsel'

export interface HttpShapeResult {
  readonly shape: string
  /** One connection, one request at a time. */
  readonly seq: Record<ServerKind, LoadResult>
  /** 16 connections, closed loop. */
  readonly c16: Record<ServerKind, LoadResult & { serverCpuUs: number }>
  /** Open loop at fixed rates (fractions of each server's 16-connection throughput), when swept. */
  readonly open?: Record<ServerKind, LoadResult[]>
  /** Requests/s at saturation: the most any run of the server answered. */
  readonly saturation: Record<ServerKind, number>
  /** The open-loop run at half of the server's saturation. */
  readonly half?: Record<ServerKind, LoadResult>
}

export interface HttpResult {
  readonly shapes: readonly HttpShapeResult[]
}

/** Starts one of the servers in its own process; resolves with its port. */
export async function startServer(args: readonly string[], entry = SERVERS): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [entry, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`server ${args[0]} exited with ${code}`)))
  })
  child.removeAllListeners('exit')
  return { child, port }
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Runs the load generator in its own process. */
export async function load(config: Omit<LoadConfig, 'path'> & { path?: string }, dir: string): Promise<LoadResult> {
  const file = join(dir, `load-${process.hrtime.bigint()}.json`)
  writeFileSync(file, JSON.stringify({ path: '/get-online-features', ...config }))
  const child = spawn(process.execPath, [LOADGEN, file], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  if (code !== 0) throw new Error(`load generator exited with ${code}`)
  return JSON.parse(out) as LoadResult
}

/** CPU time (user + system) a process has used, in µs, from /proc (10 ms ticks). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

export async function runHttp(ctx: BenchContext): Promise<HttpResult> {
  const { repo, address } = await ctx.standalone()
  const dir = mkdtempSync(join(tmpdir(), 'morsel-bench-http-'))
  const quick = ctx.effort.quick
  const seconds = ctx.effort.httpSeconds
  const shapes = SHAPES.filter((s) => !quick || s.id === '1x15' || s.id === '100x50')
  const swept = new Set(['1x15', '100x50'])
  const fractions = quick ? [0.5, 1, 1.25] : [0.25, 0.5, 0.75, 1, 1.25]
  const bodies = new Map(
    shapes.map((s) => {
      const file = join(dir, `${s.id}.json`)
      const reqs = makeRequests(s, repo.entities, 1000, 13).map((entities) => JSON.stringify({ features: s.features, entities }))
      writeFileSync(file, JSON.stringify(reqs))
      return [s.id, file]
    }),
  )
  const per = new Map<string, Partial<{ seq: Record<string, LoadResult>; c16: Record<string, LoadResult & { serverCpuUs: number }>; open: Record<string, LoadResult[]>; half: Record<string, LoadResult> }>>()
  for (const s of shapes) per.set(s.id, { seq: {}, c16: {}, open: {}, half: {} })
  try {
    for (const kind of ['bare', 'morsel'] as const) {
      const { child, port } = await startServer(kind === 'morsel' ? ['morsel', repo.path] : ['bare', repo.path, repo.project, address])
      try {
        for (const s of shapes) {
          const r = per.get(s.id)!
          const bodiesFile = bodies.get(s.id)!
          const seq = await load({ port, bodiesFile, mode: 'closed', connections: 1, seconds, warmupSeconds: quick ? 0.5 : 1 }, dir)
          const cpu0 = cpuMicros(child.pid!)
          const c16 = await load({ port, bodiesFile, mode: 'closed', connections: 16, seconds, warmupSeconds: quick ? 0.5 : 1 }, dir)
          // Warm-up second included in the CPU window: per request over everything answered in it.
          const serverCpuUs = (cpuMicros(child.pid!) - cpu0) / (c16.ok * (1 + (quick ? 0.5 : 1) / seconds))
          r.seq![kind] = seq
          r.c16![kind] = { ...c16, serverCpuUs }
          ctx.log(`http ${s.id} ${kind}: 1 conn p50 ${seq.latency.p50.toFixed(0)} µs p99 ${seq.latency.p99.toFixed(0)} µs; 16 conns ${c16.rps.toFixed(0)} req/s, ${serverCpuUs.toFixed(0)} µs server CPU/req, errors ${seq.errors + c16.errors}`)
          if (swept.has(s.id)) {
            const runs: LoadResult[] = []
            for (const f of fractions) {
              const rate = Math.max(10, Math.round(c16.rps * f))
              const o = await load({ port, bodiesFile, mode: 'open', connections: 64, rate, seconds }, dir)
              runs.push(o)
              ctx.log(`http ${s.id} ${kind} open ${rate}/s: answered ${o.rps.toFixed(0)}/s, p50 ${o.latency.p50.toFixed(0)} µs, p99 ${o.latency.p99.toFixed(0)} µs, errors ${o.errors}`)
            }
            r.open![kind] = runs
            // Half of what this server reached, measured on its own (the sweep's rates were guesses).
            const sat = Math.max(c16.rps, ...runs.map((o) => o.rps))
            const h = await load({ port, bodiesFile, mode: 'open', connections: 64, rate: Math.round(sat / 2), seconds }, dir)
            r.half![kind] = h
            ctx.log(`http ${s.id} ${kind} half of saturation, ${Math.round(sat / 2)}/s: p50 ${h.latency.p50.toFixed(0)} µs, p99 ${h.latency.p99.toFixed(0)} µs, errors ${h.errors}`)
          }
        }
      } finally {
        await stopServer(child)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const out: HttpShapeResult[] = []
  for (const s of shapes) {
    const r = per.get(s.id)!
    const saturation = {} as Record<ServerKind, number>
    for (const kind of ['bare', 'morsel'] as const) saturation[kind] = Math.max(r.c16![kind]!.rps, ...(r.open?.[kind] ?? []).map((o) => o.rps))
    const half = r.half as Record<ServerKind, LoadResult>
    out.push({
      shape: s.id,
      seq: r.seq as Record<ServerKind, LoadResult>,
      c16: r.c16 as Record<ServerKind, LoadResult & { serverCpuUs: number }>,
      ...(swept.has(s.id) && { open: r.open as Record<ServerKind, LoadResult[]>, half }),
      saturation,
    })
  }
  return { shapes: out }
}
