import { FeatureStore } from '../../src/index.js'
import type { OnlineReadResult, OnlineStore, PreparedRead } from '../../src/online/online-store.js'
import { toFeastJson } from '../../src/serving/feast-json.js'
import type { OnlineResponse } from '../../src/serving/online-response.js'
import type { BenchContext } from '../support/context.js'
import { makeRequests, SHAPES } from '../support/dataset.js'
import { median } from '../support/stats.js'

const RECORDED = 64

export interface OverheadShapeResult {
  readonly shape: string
  /** CPU µs per `getOnlineFeatures` with the store's answers replayed (no Redis I/O). */
  readonly readUs: number
  /** CPU µs per `toFeastJson` of that response (the HTTP server's serialisation). */
  readonly jsonUs: number
  readonly values: number
}

export interface OverheadResult {
  readonly shapes: readonly OverheadShapeResult[]
}

/**
 * Morsel's own CPU per read, Redis left out: the online store's answers to 64 requests are
 * recorded once and replayed, so what is timed is planning, key encoding, decoding and building
 * the response (and, separately, its JSON). Steadier than wall-clock latency on a busy machine:
 * the figure the serving-path optimisations were judged by.
 */
export async function runOverhead(ctx: BenchContext, only?: readonly string[]): Promise<OverheadResult> {
  const { repo } = await ctx.standalone()
  const real = await FeatureStore.open(repo.path)
  const inner = await real.onlineStore()
  const shapes: OverheadShapeResult[] = []
  try {
    for (const s of SHAPES.filter((x) => only === undefined || only.includes(x.id))) {
      const recorded = new Array<OnlineReadResult>(RECORDED)
      let current = 0
      let recording = true
      const replay: OnlineStore = {
        kind: inner.kind,
        capabilities: inner.capabilities,
        prepareRead: (groups) => inner.prepareRead(groups),
        read: async (prepared: PreparedRead, keys) => {
          if (!recording) return recorded[current]!
          const r = await inner.read(prepared, keys)
          recorded[current] = r
          return r
        },
        writeBatch: (batch) => inner.writeBatch(batch),
        deleteViews: (views) => inner.deleteViews(views),
        health: () => inner.health(),
        close: async () => undefined,
      }
      const store = await FeatureStore.open({ repoPath: repo.path, onlineStore: replay })
      try {
        const requests = makeRequests(s, repo.entities, RECORDED, 5)
        let last: OnlineResponse | undefined
        const call = async (i: number): Promise<void> => {
          current = i % RECORDED
          last = await store.getOnlineFeatures({ features: s.features, entities: requests[current]! })
        }
        for (let i = 0; i < RECORDED; i++) await call(i)
        recording = false
        const n = ctx.effort.quick ? (s.rows === 1 ? 20_000 : 300) : s.rows === 1 ? 100_000 : 2_000
        for (let i = 0; i < n / 4; i++) await call(i)
        const readUs: number[] = []
        const jsonUs: number[] = []
        for (let rep = 0; rep < Math.max(3, ctx.effort.reps); rep++) {
          const c0 = process.cpuUsage()
          for (let i = 0; i < n; i++) await call(i)
          const c1 = process.cpuUsage(c0)
          readUs.push((c1.user + c1.system) / n)
          const response = last!
          const j0 = process.cpuUsage()
          const m = Math.max(50, n / 4)
          for (let i = 0; i < m; i++) toFeastJson(response)
          const j1 = process.cpuUsage(j0)
          jsonUs.push((j1.user + j1.system) / m)
        }
        const result = { shape: s.id, readUs: median(readUs), jsonUs: median(jsonUs), values: s.rows * s.features.length }
        ctx.log(`overhead ${s.id}: ${result.readUs.toFixed(2)} µs CPU per read, ${result.jsonUs.toFixed(2)} µs per JSON`)
        shapes.push(result)
      } finally {
        await store.close()
      }
    }
  } finally {
    await real.close()
  }
  return { shapes }
}
