import type { RedisArgument } from 'redis'
import { FeatureStore } from '../../src/index.js'
import { hmgetFields, makeRequests, redisKey, SHAPES, type Shape } from '../support/dataset.js'
import type { BenchContext } from '../support/context.js'
import { commandCalls, connectRawStandalone, resetStats, type RawReader, type RawVariant } from '../support/raw-client.js'
import { median, medianOf, summarize, type Percentiles } from '../support/stats.js'

/** Requests timed per repetition, by batch size: enough for a p99.9 at batch 1. */
const CALLS = { full: { 1: 5000, 100: 500 }, quick: { 1: 1000, 100: 100 } } as const
const DISTINCT_REQUESTS = 1000

export interface ReadShapeResult {
  readonly shape: string
  readonly label: string
  /** Per request, as counted by Redis (`INFO commandstats`) for Morsel and for the baseline. */
  readonly commands: { readonly morsel: string; readonly raw: string }
  readonly baseline: string
  readonly raw: Percentiles
  readonly morsel: Percentiles
  /** Client CPU (user + system) per request, µs: steadier than wall time on a busy machine. */
  readonly cpu: { readonly raw: number; readonly morsel: number }
  readonly reps: ReadonlyArray<{ readonly raw: Percentiles; readonly morsel: Percentiles; readonly rawCpu: number; readonly morselCpu: number }>
}

export interface ReadResult {
  readonly shapes: readonly ReadShapeResult[]
}

/** A function to time, called with the request number. */
type Call = (i: number) => Promise<unknown>

/** Latencies in µs of `n` calls made one after another. */
export async function timeSequential(n: number, call: Call, offset = 0): Promise<Float64Array> {
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await call(i + offset)
    out[i] = Number(process.hrtime.bigint() - t0) / 1000
  }
  return out
}

/** `timeSequential`, with the process's CPU time (user + system) per call in µs. */
export async function timeWithCpu(n: number, call: Call, offset = 0): Promise<{ latencies: Float64Array; cpuUs: number }> {
  const before = process.cpuUsage()
  const latencies = await timeSequential(n, call, offset)
  const used = process.cpuUsage(before)
  return { latencies, cpuUs: (used.user + used.system) / n }
}

/**
 * The commands Morsel sent per request, read from Redis's own counters: the baseline must send the
 * same ones. Returns e.g. `{ hgetall: 2 }`.
 */
async function commandsPerRequest(url: string, n: number, call: Call): Promise<Record<string, number>> {
  await resetStats(url)
  for (let i = 0; i < n; i++) await call(i)
  const calls = await commandCalls(url)
  const out: Record<string, number> = {}
  for (const name of ['hgetall', 'hmget', 'hget', 'evalsha', 'get', 'mget']) {
    const c = calls.get(name)
    if (c !== undefined) out[name] = Math.round((c / n) * 100) / 100
  }
  return out
}

const describe = (perRequest: Record<string, number>): string =>
  Object.entries(perRequest)
    .map(([name, count]) => `${count} × ${name.toUpperCase()}`)
    .join(' + ')

/** The baseline's commands for each request: the same keys, command and fields Morsel uses. */
export function rawCommands(s: Shape, requests: ReadonlyArray<Record<string, ReadonlyArray<number | string>>>, project: string, command: 'HGETALL' | 'HMGET'): RedisArgument[][][] {
  return requests.map((entities) => {
    const cmds: RedisArgument[][] = []
    for (const group of s.groups) {
      const fields = command === 'HMGET' ? hmgetFields(group) : []
      for (let r = 0; r < s.rows; r++) {
        const key = redisKey(
          group,
          group.joinKeys.map((k) => entities[k.name]![r]!),
          project,
        )
        cmds.push(command === 'HGETALL' ? ['HGETALL', key] : ['HMGET', key, ...fields])
      }
    }
    return cmds
  })
}

/** Picks the faster node-redis way of sending a request's pipeline, by p50 over a short run. */
export async function fastestRaw(url: string, commands: RedisArgument[][][], n: number): Promise<RawReader> {
  let best: { reader: RawReader; p50: number } | undefined
  for (const variant of ['sendCommand', 'execAsPipeline'] as RawVariant[]) {
    const reader = await connectRawStandalone(url, variant)
    const call: Call = (i) => reader.read(commands[i % commands.length]!)
    await timeSequential(n, call)
    const p50 = summarize(await timeSequential(n, call)).p50
    if (best === undefined || p50 < best.p50) {
      await best?.reader.close()
      best = { reader, p50 }
    } else await reader.close()
  }
  return best!.reader
}

export async function runRead(ctx: BenchContext, only?: readonly string[]): Promise<ReadResult> {
  const { url, repo } = await ctx.standalone()
  const store = await FeatureStore.open(repo.path)
  const shapes: ReadShapeResult[] = []
  try {
    for (const s of SHAPES.filter((x) => only === undefined || only.includes(x.id))) {
      const counts = ctx.effort.quick ? CALLS.quick : CALLS.full
      const n = counts[s.rows as 1 | 100]
      const requests = makeRequests(s, repo.entities, DISTINCT_REQUESTS, 7)
      const morsel: Call = (i) => store.getOnlineFeatures({ features: s.features, entities: requests[i % requests.length]! })
      await timeSequential(Math.min(n, 500), morsel)
      const morselCommands = await commandsPerRequest(url, 200, morsel)
      const command = (morselCommands.hmget ?? 0) > (morselCommands.hgetall ?? 0) ? 'HMGET' : 'HGETALL'
      const commands = rawCommands(s, requests, repo.project, command)
      const raw = await fastestRaw(url, commands, Math.min(n, 500))
      const rawCall: Call = (i) => raw.read(commands[i % commands.length]!)
      const rawCommandsSeen = await commandsPerRequest(url, 200, rawCall)
      ctx.log(`read ${s.id}: Morsel sends ${describe(morselCommands)}, the baseline (${raw.name}) ${describe(rawCommandsSeen)}`)

      const reps: Array<{ raw: Percentiles; morsel: Percentiles; rawCpu: number; morselCpu: number }> = []
      for (let rep = 0; rep < ctx.effort.reps; rep++) {
        // Alternate which goes first, so neither always runs on a warmer (or busier) machine.
        const order = rep % 2 === 0 ? (['raw', 'morsel'] as const) : (['morsel', 'raw'] as const)
        const got: Partial<Record<'raw' | 'morsel', { latencies: Float64Array; cpuUs: number }>> = {}
        for (const who of order) got[who] = await timeWithCpu(n, who === 'raw' ? rawCall : morsel, rep * n)
        const r = { raw: summarize(got.raw!.latencies), morsel: summarize(got.morsel!.latencies), rawCpu: got.raw!.cpuUs, morselCpu: got.morsel!.cpuUs }
        reps.push(r)
        ctx.log(`read ${s.id} rep ${rep + 1}: p50 raw ${r.raw.p50.toFixed(0)} µs, Morsel ${r.morsel.p50.toFixed(0)} µs; CPU raw ${r.rawCpu.toFixed(1)} µs, Morsel ${r.morselCpu.toFixed(1)} µs`)
      }
      await raw.close()
      shapes.push({
        shape: s.id,
        label: s.label,
        commands: { morsel: describe(morselCommands), raw: describe(rawCommandsSeen) },
        baseline: raw.name,
        raw: medianOf(reps.map((r) => r.raw)),
        morsel: medianOf(reps.map((r) => r.morsel)),
        cpu: { raw: median(reps.map((r) => r.rawCpu)), morsel: median(reps.map((r) => r.morselCpu)) },
        reps,
      })
    }
  } finally {
    await store.close()
  }
  return { shapes }
}
