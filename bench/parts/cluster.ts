import { FeatureStore } from '../../src/index.js'
import type { BenchContext } from '../support/context.js'
import { makeRequests, SHAPES } from '../support/dataset.js'
import { connectRawCluster } from '../support/raw-client.js'
import { medianOf, summarize, type Percentiles } from '../support/stats.js'
import { rawCommands, timeSequential } from './read.js'

export interface ClusterResult {
  readonly shape: string
  /** Morsel against the standalone Redis, and against the 3-master cluster: same data, same requests. */
  readonly standalone: Percentiles
  readonly cluster: Percentiles
  /** node-redis's cluster client sending the same commands, nothing decoded: the cluster's floor. */
  readonly rawCluster: Percentiles
}

/**
 * The 100-entity batch on a local Redis Cluster (3 masters, a replica each) against the same batch
 * on one Redis. The entities' keys spread over the three masters, so a batch is three pipelines
 * in parallel and waits for the slowest.
 */
export async function runCluster(ctx: BenchContext): Promise<ClusterResult> {
  const s = SHAPES.find((x) => x.id === '100x50')!
  const { repo: standaloneRepo } = await ctx.standalone()
  const { repo: clusterRepo, seeds } = await ctx.cluster()
  const n = ctx.effort.quick ? 200 : 1000
  const requests = makeRequests(s, standaloneRepo.entities, 1000, 17)
  const one = await FeatureStore.open(standaloneRepo.path)
  const many = await FeatureStore.open(clusterRepo.path)
  const raw = await connectRawCluster(seeds)
  const commands = rawCommands(s, requests, clusterRepo.project, 'HMGET')
  try {
    const calls = {
      standalone: (i: number) => one.getOnlineFeatures({ features: s.features, entities: requests[i % requests.length]! }),
      cluster: (i: number) => many.getOnlineFeatures({ features: s.features, entities: requests[i % requests.length]! }),
      rawCluster: (i: number) => raw.read(commands[i % commands.length]!),
    }
    const got: Record<keyof typeof calls, Percentiles[]> = { standalone: [], cluster: [], rawCluster: [] }
    for (const c of Object.values(calls)) await timeSequential(Math.min(n, 300), c)
    for (let rep = 0; rep < ctx.effort.reps; rep++) {
      for (const [name, call] of Object.entries(calls) as Array<[keyof typeof calls, (i: number) => Promise<unknown>]>) {
        const p = summarize(await timeSequential(n, call, rep * n))
        got[name].push(p)
      }
      ctx.log(`cluster ${s.id} rep ${rep + 1}: p50 standalone ${got.standalone.at(-1)!.p50.toFixed(0)} µs, cluster ${got.cluster.at(-1)!.p50.toFixed(0)} µs, raw cluster ${got.rawCluster.at(-1)!.p50.toFixed(0)} µs`)
    }
    return { shape: s.id, standalone: medianOf(got.standalone), cluster: medianOf(got.cluster), rawCluster: medianOf(got.rawCluster) }
  } finally {
    await raw.close()
    await one.close()
    await many.close()
  }
}
