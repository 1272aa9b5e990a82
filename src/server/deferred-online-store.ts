import { MorselError, toMorselError } from '../errors/index.js'
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

/** Pause between two connection attempts (each attempt itself waits up to `connect_timeout_ms`). */
const RETRY_DELAY_MS = 1000

/** A read compiled before the backend existed; the backend's own form is made on first use. */
interface DeferredPreparedRead extends PreparedRead {
  inner?: PreparedRead
}

/**
 * The online store of a feature server started while the backend could not be reached (Redis not
 * up yet, a network partition): the server listens anyway, answers reads, writes and readiness
 * with MORSEL_STORE_UNAVAILABLE (503) while it keeps connecting in the background, and serves
 * normally from the moment a connection succeeds. Only used when the first connection failed, so a
 * server that connected at start has no extra layer on its read path.
 */
export class DeferredOnlineStore implements OnlineStore {
  readonly #kind: string
  readonly #connect: () => Promise<OnlineStore>
  readonly #onAttemptFailed: (err: MorselError) => void
  readonly #onConnected: () => void
  #inner: OnlineStore | undefined
  #lastError: MorselError
  #closed = false
  #timer: NodeJS.Timeout | undefined
  #attempt: Promise<void> | undefined

  constructor(options: {
    readonly kind: string
    readonly connect: () => Promise<OnlineStore>
    /** The error of the first attempt, made by the caller. */
    readonly firstError: MorselError
    readonly onAttemptFailed?: (err: MorselError) => void
    readonly onConnected?: () => void
  }) {
    this.#kind = options.kind
    this.#connect = options.connect
    this.#lastError = options.firstError
    this.#onAttemptFailed = options.onAttemptFailed ?? (() => undefined)
    this.#onConnected = options.onConnected ?? (() => undefined)
    this.#schedule()
  }

  /** True once the backend is connected. */
  get connected(): boolean {
    return this.#inner !== undefined
  }

  get kind(): string {
    return this.#inner?.kind ?? this.#kind
  }

  get capabilities(): OnlineStoreCapabilities {
    return this.#inner?.capabilities ?? { atomicBatchWrite: false }
  }

  prepareRead(groups: readonly OnlineReadGroup[]): PreparedRead {
    const inner = this.#inner
    const prepared: DeferredPreparedRead = { groups }
    if (inner !== undefined) prepared.inner = inner.prepareRead(groups)
    return prepared
  }

  read(prepared: PreparedRead, keys: ReadonlyArray<readonly Uint8Array[]>, options?: OperationOptions): Promise<OnlineReadResult> {
    const inner = this.#inner
    if (inner === undefined) return Promise.reject(this.#unavailable('reading'))
    const p = prepared as DeferredPreparedRead
    p.inner ??= inner.prepareRead(p.groups)
    return inner.read(p.inner, keys, options)
  }

  writeBatch(batch: OnlineWriteBatch, options?: OperationOptions): Promise<OnlineWriteResult> {
    const inner = this.#inner
    if (inner === undefined) {
      const err = this.#unavailable('writing')
      return Promise.reject(new MorselError('MORSEL_WRITE_FAILED', err.message, { cause: err, details: { failedRows: batch.rows.map((_, i) => i), storeCode: err.code } }))
    }
    return inner.writeBatch(batch, options)
  }

  deleteViews(views: readonly OnlineViewRef[], options?: OperationOptions): Promise<void> {
    return this.#inner === undefined ? Promise.reject(this.#unavailable('deleting')) : this.#inner.deleteViews(views, options)
  }

  async health(options?: OperationOptions): Promise<OnlineStoreHealth> {
    if (this.#inner === undefined) return { ok: false, detail: this.#lastError.message }
    return this.#inner.health(options)
  }

  async ping(options?: OperationOptions): Promise<void> {
    const inner = this.#inner
    if (inner === undefined) throw this.#unavailable('pinging')
    if (inner.ping !== undefined) return inner.ping(options)
    const health = await inner.health(options)
    if (!health.ok) throw new MorselError('MORSEL_STORE_UNAVAILABLE', health.detail ?? 'The online store does not answer.')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    // An attempt under way may still connect: wait for it so its connection is closed too.
    await this.#attempt
    await this.#inner?.close()
  }

  #unavailable(doing: string): MorselError {
    return new MorselError('MORSEL_STORE_UNAVAILABLE', `The online store is not connected yet while ${doing}; connecting in the background. Last attempt: ${this.#lastError.message}`, {
      cause: this.#lastError,
    })
  }

  #schedule(): void {
    if (this.#closed) return
    this.#timer = setTimeout(() => {
      this.#attempt = this.#tryConnect()
    }, RETRY_DELAY_MS)
    this.#timer.unref()
  }

  async #tryConnect(): Promise<void> {
    try {
      const store = await this.#connect()
      if (this.#closed) {
        await store.close()
        return
      }
      this.#inner = store
      this.#onConnected()
    } catch (err) {
      this.#lastError = toMorselError(err)
      this.#onAttemptFailed(this.#lastError)
      this.#schedule()
    }
  }
}
