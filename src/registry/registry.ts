import { randomUUID } from 'node:crypto'
import { MorselError, isMorselError } from '../errors/index.js'
import { emptyDocument, type RegistryDocument } from './registry-document.js'
import { RegistrySnapshot } from './registry-snapshot.js'
import type { RegistryStore } from './registry-store.js'

export interface RegistryOptions {
  /** Seconds between background refreshes; 0 disables them. */
  readonly cacheTtlSeconds?: number
}

/**
 * The registry of one project, cached. Readers take `current()` (no I/O); a background timer
 * re-reads the store every `cacheTtlSeconds` and swaps in a new snapshot when the version moved,
 * so no request ever waits on a registry read.
 */
export class Registry {
  readonly store: RegistryStore
  readonly project: string
  readonly #cacheTtlSeconds: number
  #snapshot: RegistrySnapshot | undefined
  #timer: NodeJS.Timeout | undefined
  #listeners = new Set<(snapshot: RegistrySnapshot) => void>()
  #refreshing: Promise<RegistrySnapshot> | undefined

  constructor(store: RegistryStore, project: string, options: RegistryOptions = {}) {
    this.store = store
    this.project = project
    this.#cacheTtlSeconds = options.cacheTtlSeconds ?? 60
  }

  /** The cached snapshot, loading it on first use. */
  async snapshot(): Promise<RegistrySnapshot> {
    return this.#snapshot ?? this.refresh()
  }

  /** The cached snapshot without I/O; undefined before the first load. */
  current(): RegistrySnapshot | undefined {
    return this.#snapshot
  }

  /** Re-reads the store. Concurrent callers share one read. */
  async refresh(): Promise<RegistrySnapshot> {
    this.#refreshing ??= (async () => {
      try {
        const doc = (await this.store.load()) ?? emptyDocument()
        const prev = this.#snapshot
        if (prev !== undefined && prev.version === doc.version && prev.versionId === doc.versionId) return prev
        const next = new RegistrySnapshot(this.project, doc.version, doc.versionId, doc.projects[this.project])
        this.#snapshot = next
        if (prev !== undefined) for (const l of this.#listeners) l(next)
        return next
      } finally {
        this.#refreshing = undefined
      }
    })()
    return this.#refreshing
  }

  /** Calls `listener` with each new snapshot the background refresh finds. Returns an unsubscribe. */
  onChange(listener: (snapshot: RegistrySnapshot) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Starts refreshing in the background every `cacheTtlSeconds` (no-op when that is 0). */
  startAutoRefresh(onError: (err: unknown) => void): void {
    if (this.#timer !== undefined || this.#cacheTtlSeconds === 0) return
    this.#timer = setInterval(() => {
      this.refresh().catch(onError)
    }, this.#cacheTtlSeconds * 1000)
    this.#timer.unref()
  }

  stopAutoRefresh(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /**
   * Commits a change. `mutate` gets the stored document and returns the new one (without touching
   * version fields). With `expectedVersion`, the commit fails with MORSEL_REGISTRY_CONFLICT if the
   * registry moved past it (apply: the plan was made against that version). Without it, a
   * concurrent commit is retried on the fresh document (additive changes such as recording a
   * materialization interval).
   */
  async commit(
    mutate: (doc: RegistryDocument) => RegistryDocument,
    options: { readonly expectedVersion?: number } = {},
  ): Promise<RegistrySnapshot> {
    for (let attempt = 0; ; attempt++) {
      const stored = (await this.store.load()) ?? emptyDocument()
      if (options.expectedVersion !== undefined && stored.version !== options.expectedVersion) {
        throw new MorselError(
          'MORSEL_REGISTRY_CONFLICT',
          `The registry ${this.store.location} changed since it was read (version ${options.expectedVersion}, now ${stored.version}): another apply committed first. Nothing was written; run \`morsel plan\` to see the difference and apply again.`,
          { details: { expectedVersion: options.expectedVersion, currentVersion: stored.version } },
        )
      }
      const changed = mutate(stored)
      const next: RegistryDocument = {
        ...changed,
        formatVersion: 1,
        version: stored.version + 1,
        versionId: randomUUID(),
        lastUpdated: new Date().toISOString(),
      }
      try {
        await this.store.save(next, stored.version)
      } catch (err) {
        if (options.expectedVersion === undefined && isMorselError(err, 'MORSEL_REGISTRY_CONFLICT') && attempt < 5) continue
        throw err
      }
      const snap = new RegistrySnapshot(this.project, next.version, next.versionId, next.projects[this.project])
      this.#snapshot = snap
      for (const l of this.#listeners) l(snap)
      return snap
    }
  }
}
