/**
 * The contract between Morsel's core and an online store backend (SQLite, Redis, Redis Cluster …).
 *
 * The core does everything that is the same for every backend: resolving features, serializing
 * entity keys and values (Feast's byte formats, `src/encoding`), deduplicating entities, decoding,
 * ttl, statuses and on-demand features. A backend only moves bytes: it stores, per project and
 * entity key, the Value-protobuf cells of each view's features and a protobuf Timestamp per view,
 * exactly as Feast's Redis layout does.
 */

export interface OperationOptions {
  /** Aborts the operation (the feature server's per-request deadline). */
  readonly signal?: AbortSignal
}

/** What the core asks to read for one set of join keys: every view keyed by exactly those keys. */
export interface OnlineReadGroup {
  /** Join-key names in canonical (UTF-8 byte) order; informational for the backend. */
  readonly joinKeys: readonly string[]
  readonly views: ReadonlyArray<{ readonly name: string; readonly features: readonly string[] }>
}

/**
 * A store's compiled form of a set of read groups (field names, statements …), built once per
 * distinct feature set and reused by every request for it. Opaque to the core.
 */
export interface PreparedRead {
  readonly groups: readonly OnlineReadGroup[]
}

/**
 * The cells of one entity in one read group, or `null` when the store holds nothing for it.
 *
 * Layout: first the feature cells of every view of the group, view after view, in the order of
 * `OnlineReadGroup.views[].features`; then one Timestamp cell per view, in view order.
 * A feature cell is the stored Value protobuf (an empty buffer for an explicit null) or `null`
 * when the field is absent; a Timestamp cell is a google.protobuf.Timestamp or `null`.
 */
export type EntityCells = ReadonlyArray<Uint8Array | null>

/** `result[g][k]`: cells of the k-th key of group g. Same lengths and order as the keys asked. */
export type OnlineReadResult = ReadonlyArray<ReadonlyArray<EntityCells | null>>

export interface OnlineWriteRow {
  /** Serialized entity key (without the project suffix). */
  readonly entityKey: Uint8Array
  /** Event time in epoch microseconds; decides which write wins. */
  readonly eventTimeMicros: number
  /** Value protobufs, in the order of `OnlineWriteBatch.features`. */
  readonly values: readonly Uint8Array[]
}

export interface OnlineWriteBatch {
  readonly view: string
  /** Every feature of the view, in the order of each row's `values`. */
  readonly features: readonly string[]
  readonly rows: readonly OnlineWriteRow[]
}

export interface OnlineWriteResult {
  /** Rows stored. */
  readonly written: number
  /** Rows not stored because the store already held an equal or newer event time for their key. */
  readonly skipped: number
}

export interface OnlineViewRef {
  readonly name: string
  readonly joinKeys: readonly string[]
  readonly features: readonly string[]
}

export interface OnlineStoreHealth {
  readonly ok: boolean
  readonly latencyMs?: number
  readonly detail?: string
  /** Backend figures worth exporting as metrics (Redis INFO: used memory, ops/s …). */
  readonly stats?: Readonly<Record<string, number>>
}

export interface OnlineStoreCapabilities {
  /** A failed writeBatch leaves nothing of that batch behind (SQLite transaction). */
  readonly atomicBatchWrite: boolean
}

export interface OnlineStore {
  /** The `online_store.type` this backend serves, for messages and metrics. */
  readonly kind: string
  readonly capabilities: OnlineStoreCapabilities

  /** Compiles the reads for a feature set; called once per set, never per request. */
  prepareRead(groups: readonly OnlineReadGroup[]): PreparedRead

  /**
   * Reads the cells of every key of every group, in one round trip where the backend allows.
   * `keys[g]` are distinct serialized entity keys of group g.
   */
  read(prepared: PreparedRead, keys: ReadonlyArray<readonly Uint8Array[]>, options?: OperationOptions): Promise<OnlineReadResult>

  /**
   * Stores rows of one view. A row is written only if its event time is newer than the one stored
   * for its key and view (the decision is made by the store, atomically), so re-running a write is
   * harmless and an older row never replaces a newer one.
   * On failure it throws MORSEL_WRITE_FAILED whose `details.failedRows` lists the indexes of rows
   * that may not be stored; retrying the whole batch is safe.
   */
  writeBatch(batch: OnlineWriteBatch, options?: OperationOptions): Promise<OnlineWriteResult>

  /** Deletes every stored value of these views of this project, and nothing else. */
  deleteViews(views: readonly OnlineViewRef[], options?: OperationOptions): Promise<void>

  /** A reachability check with the backend's figures, for metrics and the console. */
  health(options?: OperationOptions): Promise<OnlineStoreHealth>

  /**
   * The cheapest round trip that proves the store answers (Redis PING, SQLite `SELECT 1`), for
   * readiness probes, which anyone may call as often as they like. Throws when it does not answer.
   * Optional: without it, probes fall back to `health`.
   */
  ping?(options?: OperationOptions): Promise<void>

  /** Releases connections. Calling it twice is harmless. */
  close(): Promise<void>
}

/** What a backend factory is given besides its own config section. */
export interface OnlineStoreContext {
  readonly project: string
  /** Absolute path of the feature repository, for relative paths in the config. */
  readonly repoPath: string
  readonly entityKeySerializationVersion: 2 | 3
}
