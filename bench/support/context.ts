import { loadavg } from 'node:os'
import { startPlainRedis, startRedisCluster, type RedisClusterDeployment, type RedisServer } from '../../test/support/redis-servers.js'
import { createBenchRepo, materializeAll, type BenchRepo } from './dataset.js'

/** How long and how often each part measures. */
export interface Effort {
  readonly quick: boolean
  /** Interleaved repetitions of every measurement; figures are medians over them. */
  readonly reps: number
  /** Entities per entity key in the online data. */
  readonly entities: number
  /** Seconds per HTTP load run. */
  readonly httpSeconds: number
}

export function effort(quick: boolean, reps: number | undefined): Effort {
  return quick ? { quick, reps: reps ?? 1, entities: 2_000, httpSeconds: 1 } : { quick, reps: reps ?? 3, entities: 10_000, httpSeconds: 5 }
}

/**
 * What the parts share, started on first use and stopped at the end: a private Redis (its
 * command statistics then count only the bench's commands, and nobody else's load lands on it),
 * the bench repository materialized into it, and a local cluster.
 */
export class BenchContext {
  readonly effort: Effort
  #standalone: Promise<{ server: RedisServer & { remove(): Promise<void> }; repo: BenchRepo }> | undefined
  #cluster: Promise<{ cluster: RedisClusterDeployment; repo: BenchRepo }> | undefined
  readonly #cleanups: Array<() => Promise<void> | void> = []

  constructor(e: Effort) {
    this.effort = e
  }

  log(message: string): void {
    const [one] = loadavg()
    process.stderr.write(`[${new Date().toISOString().slice(11, 19)} load ${one!.toFixed(2)}] ${message}\n`)
  }

  /** The standalone Redis holding the bench data, and the repository serving it. */
  standalone(): Promise<{ url: string; address: string; repo: BenchRepo }> {
    this.#standalone ??= (async () => {
      const server = await startPlainRedis()
      this.#cleanups.push(() => server.remove())
      this.log(`standalone Redis on ${server.address}; writing ${this.effort.entities} entities per key`)
      const repo = await createBenchRepo(this.effort.entities, `online_store:\n  type: redis\n  connection_string: "${server.address}"\n`)
      this.#cleanups.push(() => repo.remove())
      const t0 = performance.now()
      const rows = await materializeAll(repo)
      this.log(`materialized ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      return { server, repo }
    })()
    return this.#standalone.then(({ server, repo }) => ({ url: `redis://${server.address}`, address: server.address, repo }))
  }

  /** A local Redis Cluster (3 masters, one replica each) holding the same data. */
  cluster(): Promise<{ seeds: string[]; repo: BenchRepo }> {
    this.#cluster ??= (async () => {
      const { repo: base } = await this.standalone()
      const cluster = await startRedisCluster()
      this.#cleanups.push(() => cluster.stop())
      this.log(`cluster on ${cluster.seeds}`)
      const repo = base.withOnlineStore(`online_store:\n  type: redis\n  redis_type: redis_cluster\n  connection_string: "${cluster.seeds}"\n`)
      this.#cleanups.push(() => repo.remove())
      const rows = await materializeAll(repo)
      this.log(`materialized ${rows} rows into the cluster`)
      return { cluster, repo }
    })()
    return this.#cluster.then(({ cluster, repo }) => ({ seeds: cluster.nodes.slice(0, 3).map((n) => n.address), repo }))
  }

  /** Registers work to undo at the end (last registered, first run). */
  onClose(fn: () => Promise<void> | void): void {
    this.#cleanups.push(fn)
  }

  async close(): Promise<void> {
    for (const fn of this.#cleanups.reverse()) {
      try {
        await fn()
      } catch (err) {
        this.log(`cleanup failed: ${(err as Error).message}`)
      }
    }
    this.#cleanups.length = 0
  }
}
