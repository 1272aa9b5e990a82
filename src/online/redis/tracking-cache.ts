import { BasicPooledClientSideCache } from 'redis'
import type { EntityCells } from '../online-store.js'

/**
 * The optional in-process cache of entity cells, kept correct by Redis server-assisted client-side
 * caching (CLIENT TRACKING, RESP3): Redis remembers which keys each connection read and pushes an
 * invalidation on that same connection when one of them changes or expires. An entry is dropped
 * when its invalidation is processed, so once an invalidation has arrived the old value is never
 * served again.
 *
 * The race every tracking cache must close: a read is in flight when the invalidation of its key
 * arrives (both can sit in one socket chunk, and the reply's continuation runs after the
 * invalidation was handled). Each read therefore takes a sequence number when it is sent; an
 * invalidation of a key with reads in flight records the sequence at which it happened, and a
 * reply older than that is not stored. A lost connection (and so possibly lost invalidations)
 * flushes everything.
 *
 * Entries are keyed by the Redis key's bytes (latin1, one char per byte, so distinct binary keys
 * never collide) and then by read shape (which fields were asked), since one entity hash serves
 * many feature sets.
 */
export class TrackingCache {
  readonly maxEntries: number
  readonly #ttlMs: number
  readonly #entries = new Map<string, Map<number, Entry>>()
  readonly #inflight = new Map<string, number>()
  readonly #invalidatedAt = new Map<string, number>()
  #seq = 0
  #flushedAt = 0
  #enabled = true
  hits = 0
  misses = 0
  invalidations = 0
  evictions = 0

  constructor(maxEntries: number, ttlSeconds: number) {
    this.maxEntries = maxEntries
    this.#ttlMs = ttlSeconds * 1000
  }

  get size(): number {
    return this.#entries.size
  }

  /** The cached cells of `key` for read shape `shape`: cells, `null` (known absent) or `undefined` (not cached). */
  get(key: string, shape: number): EntityCells | null | undefined {
    if (!this.#enabled) return undefined
    const shapes = this.#entries.get(key)
    const entry = shapes?.get(shape)
    if (entry === undefined) {
      this.misses++
      return undefined
    }
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      shapes!.delete(shape)
      if (shapes!.size === 0) this.#entries.delete(key)
      this.misses++
      return undefined
    }
    // Least recently used goes first: move the key to the end of the insertion order.
    this.#entries.delete(key)
    this.#entries.set(key, shapes!)
    this.hits++
    return entry.cells
  }

  /** Marks reads of `keys` as sent; returns the sequence to hand back to `store` and `settle`. */
  begin(keys: readonly string[]): number {
    for (const k of keys) this.#inflight.set(k, (this.#inflight.get(k) ?? 0) + 1)
    return ++this.#seq
  }

  /** Stores a reply unless its key was invalidated (or everything flushed) after the read was sent. */
  store(key: string, shape: number, cells: EntityCells | null, seq: number): void {
    if (!this.#enabled || this.#flushedAt >= seq) return
    const invalidated = this.#invalidatedAt.get(key)
    if (invalidated !== undefined && invalidated >= seq) return
    let shapes = this.#entries.get(key)
    if (shapes === undefined) {
      if (this.#entries.size >= this.maxEntries) this.#evictOldest()
      shapes = new Map()
      this.#entries.set(key, shapes)
    }
    shapes.set(shape, { cells, expiresAt: this.#ttlMs > 0 ? Date.now() + this.#ttlMs : 0 })
  }

  /** Ends the reads `begin` marked, whether they succeeded or not. */
  settle(keys: readonly string[]): void {
    for (const k of keys) {
      const n = (this.#inflight.get(k) ?? 1) - 1
      if (n > 0) this.#inflight.set(k, n)
      else {
        this.#inflight.delete(k)
        this.#invalidatedAt.delete(k)
      }
    }
  }

  /** An invalidation pushed by Redis: one key, or `null` for all of them. */
  invalidate(key: Uint8Array | string | null): void {
    if (key === null) {
      this.flush()
      return
    }
    const k = typeof key === 'string' ? Buffer.from(key, 'utf8').toString('latin1') : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
    this.invalidations++
    this.#entries.delete(k)
    if (this.#inflight.has(k)) this.#invalidatedAt.set(k, ++this.#seq)
  }

  /** Forgets everything, and every reply still in flight. */
  flush(): void {
    this.#entries.clear()
    this.#flushedAt = ++this.#seq
  }

  disable(): void {
    this.#enabled = false
    this.flush()
  }

  enable(): void {
    this.#enabled = true
  }

  #evictOldest(): void {
    const oldest = this.#entries.keys().next()
    if (!oldest.done) {
      this.#entries.delete(oldest.value)
      this.evictions++
    }
  }
}

interface Entry {
  readonly cells: EntityCells | null
  readonly expiresAt: number
}

/**
 * Plugs a TrackingCache into node-redis: passed as `clientSideCache`, it makes every connection
 * (standalone, each cluster node, sentinel master and replicas) turn CLIENT TRACKING on and routes
 * the pushed invalidations, connection errors and topology changes here. node-redis's own cache is
 * not used for values (its cache key turns binary keys into lossy UTF-8 text, so two entity keys
 * could share an entry); Morsel reads with raw commands, which bypass it.
 */
export class TrackingInvalidationSink extends BasicPooledClientSideCache {
  readonly #cache: TrackingCache

  constructor(cache: TrackingCache) {
    super({ maxEntries: 1 })
    this.#cache = cache
  }

  override invalidate(key: Parameters<BasicPooledClientSideCache['invalidate']>[0]): void {
    super.invalidate(key)
    this.#cache.invalidate(key)
  }

  override clear(resetStats?: boolean): void {
    super.clear(resetStats)
    this.#cache.flush()
  }

  override onError(): void {
    super.onError()
    this.#cache.flush()
  }

  override onClose(): void {
    super.onClose()
    this.#cache.flush()
  }

  override disable(): void {
    super.disable()
    this.#cache.disable()
  }

  override enable(): void {
    super.enable()
    this.#cache.enable()
  }
}
