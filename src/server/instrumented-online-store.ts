import type {
  OnlineReadGroup,
  OnlineReadResult,
  OnlineStore,
  OnlineStoreCapabilities,
  OnlineStoreHealth,
  OnlineViewRef,
  OnlineWriteBatch,
  OnlineWriteResult,
  OperationOptions,
  PreparedRead,
} from '../online/online-store.js'
import type { ServerMetrics } from './server-metrics.js'
import { pingStore } from './store-health-monitor.js'

/**
 * An online store that times each call into the server's metrics: the latency of the store itself,
 * apart from what Morsel does around it. Calls pass straight through.
 */
export class InstrumentedOnlineStore implements OnlineStore {
  readonly #inner: OnlineStore
  readonly #metrics: ServerMetrics

  constructor(inner: OnlineStore, metrics: ServerMetrics) {
    this.#inner = inner
    this.#metrics = metrics
  }

  get kind(): string {
    return this.#inner.kind
  }

  get capabilities(): OnlineStoreCapabilities {
    return this.#inner.capabilities
  }

  prepareRead(groups: readonly OnlineReadGroup[]): PreparedRead {
    return this.#inner.prepareRead(groups)
  }

  read(prepared: PreparedRead, keys: ReadonlyArray<readonly Uint8Array[]>, options?: OperationOptions): Promise<OnlineReadResult> {
    return this.#time('read', this.#inner.read(prepared, keys, options))
  }

  writeBatch(batch: OnlineWriteBatch, options?: OperationOptions): Promise<OnlineWriteResult> {
    return this.#time('write', this.#inner.writeBatch(batch, options))
  }

  deleteViews(views: readonly OnlineViewRef[], options?: OperationOptions): Promise<void> {
    return this.#time('delete', this.#inner.deleteViews(views, options))
  }

  health(options?: OperationOptions): Promise<OnlineStoreHealth> {
    return this.#inner.health(options)
  }

  ping(options?: OperationOptions): Promise<void> {
    return pingStore(this.#inner, options)
  }

  close(): Promise<void> {
    return this.#inner.close()
  }

  async #time<T>(operation: string, call: Promise<T>): Promise<T> {
    const t0 = performance.now()
    try {
      const out = await call
      this.#metrics.recordStoreCall(this.#inner.kind, operation, true, (performance.now() - t0) / 1000)
      return out
    } catch (err) {
      this.#metrics.recordStoreCall(this.#inner.kind, operation, false, (performance.now() - t0) / 1000)
      throw err
    }
  }
}
