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
  #prepare: ((next: RegistrySnapshot) => Promise<void>) | undefined
  #onPrepareError: ((err: unknown) => void) | undefined

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
        // Versions only grow: a read that started before a commit of this process finished must not
        // put the older document back.
        if (prev !== undefined && doc.version <= prev.version) return prev
        return await this.#install(new RegistrySnapshot(this.project, doc.version, doc.versionId, doc.projects[this.project]), prev !== undefined)
      } finally {
        this.#refreshing = undefined
      }
    })()
    return this.#refreshing
  }

  /**
   * Work that must be done before a new snapshot is served (loading the on-demand code it names),
   * so that no request ever sees a snapshot without what it needs. A failure goes to `onError` and
   * does not hold the new version back: the registry is the truth, and what cannot be prepared
   * fails where it is used, with a message saying why.
   */
  setPreparer(prepare: (next: RegistrySnapshot) => Promise<void>, onError: (err: unknown) => void): void {
    this.#prepare = prepare
    this.#onPrepareError = onError
  }

  async #install(next: RegistrySnapshot, notify: boolean): Promise<RegistrySnapshot> {
    try {
      await this.#prepare?.(next)
    } catch (err) {
      this.#onPrepareError?.(err)
    }
    const current = this.#snapshot
    if (current !== undefined && current.version >= next.version) return current
    this.#snapshot = next
    if (notify) for (const l of this.#listeners) l(next)
    return next
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
   * version fields); when another writer commits in between, it runs again on the fresh document,
   * so additive changes (a materialization interval) are never lost. With `expectedDefinitionsId`
   * the commit fails with MORSEL_REGISTRY_CONFLICT if the project's definitions changed since they
   * were read (apply: the plan was made against them); history-only commits do not count.
   */
  async commit(
    mutate: (doc: RegistryDocument) => RegistryDocument,
    options: { readonly expectedDefinitionsId?: string } = {},
  ): Promise<RegistrySnapshot> {
    for (let attempt = 0; ; attempt++) {
      const stored = (await this.store.load()) ?? emptyDocument()
      const storedId = stored.projects[this.project]?.definitionsId ?? ''
      if (options.expectedDefinitionsId !== undefined && storedId !== options.expectedDefinitionsId) {
        throw new MorselError(
          'MORSEL_REGISTRY_CONFLICT',
          `The definitions of project '${this.project}' in ${this.store.location} changed since this command read them: another apply or teardown committed first. Nothing was written; run \`morsel plan\` to see the difference and apply again.`,
          { details: { expectedDefinitionsId: options.expectedDefinitionsId, currentDefinitionsId: storedId } },
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
        // Another writer got in between: the definitions check above decides on the fresh document.
        if (isMorselError(err, 'MORSEL_REGISTRY_CONFLICT') && attempt < 20) continue
        throw err
      }
      return this.#install(new RegistrySnapshot(this.project, next.version, next.versionId, next.projects[this.project]), true)
    }
  }
}
