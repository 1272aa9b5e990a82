import { MorselError, toMorselError } from '../errors/index.js'
import type { FeatureStore } from '../feature-store.js'
import type { OnlineStore, OnlineStoreHealth, OperationOptions } from '../online/online-store.js'
import type { ServerMetrics } from './server-metrics.js'

const CHECK_TIMEOUT_MS = 2000

/**
 * Checks the online store in the background (Redis: PING and INFO) so that `/metrics` scrapes and
 * requests never wait on it, and so that a request timing out while the store is known to be down
 * is answered as "unavailable" rather than "slow".
 */
export class StoreHealthMonitor {
  readonly #store: FeatureStore
  readonly #metrics: ServerMetrics
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | undefined
  #last: OnlineStoreHealth | undefined
  #ping: Promise<void> | undefined
  #recheck: Promise<OnlineStoreHealth> | undefined

  constructor(store: FeatureStore, metrics: ServerMetrics, intervalSeconds: number) {
    this.#store = store
    this.#metrics = metrics
    this.#intervalMs = intervalSeconds * 1000
  }

  /** The last background result; undefined before the first check. */
  get last(): OnlineStoreHealth | undefined {
    return this.#last
  }

  /** True when the last check failed. */
  get down(): boolean {
    return this.#last?.ok === false
  }

  start(): void {
    if (this.#timer !== undefined) return
    void this.check()
    this.#timer = setInterval(() => void this.check(), this.#intervalMs)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /**
   * Whether the store answers the cheapest round trip now (readiness). Probes arriving together
   * share one ping, so however often an unauthenticated caller asks, the store sees at most one
   * ping at a time.
   */
  ping(): Promise<void> {
    this.#ping ??= (async () => {
      let kind = this.#store.config.onlineStore.type as string
      try {
        const online = await this.#store.onlineStore()
        kind = online.kind
        await pingStore(online, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
      } catch (err) {
        // Known down at once (metrics, and reads timing out answered as unavailable), not at the next check.
        const down: OnlineStoreHealth = { ok: false, detail: toMorselError(err).message }
        this.#last = down
        this.#metrics.recordStoreHealth(kind, down)
        throw err
      } finally {
        this.#ping = undefined
      }
      // Back up: the full check refreshes the figures, once.
      if (this.#last?.ok === false && this.#recheck === undefined) this.#recheck = this.check().finally(() => (this.#recheck = undefined))
    })()
    return this.#ping
  }

  /** Checks now, with a short deadline; never throws. */
  async check(): Promise<OnlineStoreHealth> {
    let health: OnlineStoreHealth
    let kind = this.#store.config.onlineStore.type as string
    try {
      const online = await this.#store.onlineStore()
      kind = online.kind
      const t0 = performance.now()
      health = await online.health({ signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
      if (health.latencyMs === undefined) health = { ...health, latencyMs: performance.now() - t0 }
    } catch (err) {
      health = { ok: false, detail: toMorselError(err).message }
    }
    this.#last = health
    this.#metrics.recordStoreHealth(kind, health)
    return health
  }
}

/** The store's ping, or its health check for a backend without one. */
export async function pingStore(store: OnlineStore, options?: OperationOptions): Promise<void> {
  if (store.ping !== undefined) return store.ping(options)
  const health = await store.health(options)
  if (!health.ok) throw new MorselError('MORSEL_STORE_UNAVAILABLE', health.detail ?? 'The online store does not answer.')
}
