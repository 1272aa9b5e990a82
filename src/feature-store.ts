import { loadRepoConfig } from './config/load-config.js'
import type { RepoConfig } from './config/repo-config.js'
import type { FeatureService } from './definitions/feature-service.js'
import type { FeatureViewSpec } from './definitions/specs.js'
import { MorselError, toMorselError } from './errors/index.js'
import { materialize, materializeIncremental, type MaterializationContext, type MaterializeIncrementalOptions, type MaterializeOptions, type MaterializeResult } from './materialization/materialize.js'
import { createOfflineStore } from './offline/backends.js'
import { compileHistoricalQuery, type HistoricalFeaturesRequest } from './offline/historical-query.js'
import type { OfflineStore } from './offline/offline-store.js'
import { RetrievalJob } from './offline/retrieval-job.js'
import { createOnlineStore, onlineStoreTarget } from './online/backends.js'
import type { OnlineStore, OnlineViewRef } from './online/online-store.js'
import { FileRegistryStore } from './registry/file/file-registry-store.js'
import { applyPlanToState, computePlan, type RepoPlan } from './registry/plan.js'
import { Registry } from './registry/registry.js'
import type { RegistryDocument } from './registry/registry-document.js'
import type { RegistrySnapshot } from './registry/registry-snapshot.js'
import type { RegistryStore } from './registry/registry-store.js'
import { loadDefinitions } from './repo/load-definitions.js'
import type { OnDemandUdf, RepoContents } from './repo/repo-contents.js'
import { validateRepo } from './repo/validate-repo.js'
import { entityColumnsFrom, entityRowsToColumns, type EntityColumns } from './serving/entity-input.js'
import { executeRead } from './serving/execute-read.js'
import type { OnlineResponse } from './serving/online-response.js'
import { compileReadPlan, type ReadPlan } from './serving/read-plan.js'
import { encodeWriteRows, writeInBatches } from './serving/write-rows.js'
import { parsePushTarget, pushRows, type PushSummary, type PushTarget } from './serving/push.js'
import type { FeatureValue } from './types/value-type.js'

export interface FeatureStoreOptions {
  /** The feature repository. Default: the working directory. */
  readonly repoPath?: string
  /** feature_store.yaml elsewhere than in the repository. */
  readonly configPath?: string
  /** Already-loaded configuration (skips reading feature_store.yaml). */
  readonly config?: RepoConfig
  readonly env?: NodeJS.ProcessEnv
  /** Backends built by the caller instead of from the config (tests, custom stores). */
  readonly onlineStore?: OnlineStore
  readonly offlineStore?: OfflineStore
  readonly registryStore?: RegistryStore
  /** Hooks for metrics; called after each online read. */
  readonly observer?: FeatureStoreObserver
}

export interface FeatureStoreObserver {
  onOnlineRead?(plan: ReadPlan, response: OnlineResponse, storeMs: number): void
  onUdfReloadError?(err: unknown): void
}

type EntityRow = Readonly<Record<string, unknown>>

interface OnlineRequestBase {
  /** Entities (and request data) as one object per row: `[{ zipcode: 76104, dob_ssn: '19630621_4278' }]`. */
  readonly entityRows?: readonly EntityRow[]
  /** The same, column by column as in Feast's HTTP API: `{ zipcode: [76104], dob_ssn: ['…'] }`. */
  readonly entities?: Readonly<Record<string, readonly unknown[]>>
  /** Name features `view__feature` instead of `feature`. Default false. */
  readonly fullFeatureNames?: boolean
  readonly signal?: AbortSignal
}

export interface OnlineFeaturesRequest extends OnlineRequestBase {
  /** Feature references `view:feature`. */
  readonly features?: readonly string[]
  /** A registered feature service, by name or by its definition object. */
  readonly featureService?: string | FeatureService
}

export interface TypedServiceRequest<S extends FeatureService, Full extends boolean> extends OnlineRequestBase {
  readonly featureService: S
  readonly fullFeatureNames?: Full
}

type Present<T> = T extends undefined ? never : T
/** The row type of a typed feature-service read: its join keys and its features. */
export type ServiceRow<S, Full> = S extends { readonly __keys?: infer K; readonly __row?: infer R; readonly __fullRow?: infer FR }
  ? Present<K> & (Full extends true ? Present<FR> : Present<R>)
  : Record<string, FeatureValue>

export interface ApplyResult {
  readonly plan: RepoPlan
  /** Registry version after the apply. */
  readonly version: number
  /** Views whose online data was removed (deleted, or re-keyed). */
  readonly clearedOnlineViews: readonly string[]
  /** Views whose online data could not be removed now; the next apply or teardown retries. */
  readonly pendingOnlineViews: readonly string[]
  /** Why the removal failed, when `pendingOnlineViews` is not empty. */
  readonly onlineCleanupError?: MorselError
}

export interface WriteSummary {
  readonly rows: number
  readonly written: number
  /** Rows not written because a newer or equal event time was already stored. */
  readonly skipped: number
}

/**
 * A feature repository opened for use: its registry, online store and offline store.
 *
 * @example
 * const store = await FeatureStore.open('examples/credit-scoring')
 * const res = await store.getOnlineFeatures({
 *   features: ['zipcode_features:city', 'credit_history:credit_card_due'],
 *   entityRows: [{ zipcode: 76104, dob_ssn: '19630621_4278' }],
 * })
 * res.toRows()[0]  // { zipcode: 76104, dob_ssn: '19630621_4278', city: 'FORT WORTH', credit_card_due: 1795 }
 */
export class FeatureStore implements AsyncDisposable {
  readonly config: RepoConfig
  readonly registry: Registry
  readonly #options: FeatureStoreOptions
  #online: OnlineStore | undefined
  #onlinePending: Promise<OnlineStore> | undefined
  #offline: Promise<OfflineStore> | undefined
  #offlineInstance: OfflineStore | undefined
  /** On-demand functions loaded from the repository, by the hash of their source. */
  #udfs = new Map<string, OnDemandUdf>()
  /** Compiled read plans of the current definitions; history-only registry changes keep them. */
  #plans: { readonly definitionsId: string; readonly byKey: Map<string, ReadPlan> } = { definitionsId: '', byKey: new Map() }
  #closed = false
  #observers: FeatureStoreObserver[] = []
  #observer: FeatureStoreObserver | undefined

  private constructor(config: RepoConfig, options: FeatureStoreOptions) {
    this.config = config
    this.#options = options
    const store = options.registryStore ?? new FileRegistryStore(config.registry.path)
    this.registry = new Registry(store, config.project, { cacheTtlSeconds: config.registry.cacheTtlSeconds })
    this.#online = options.onlineStore
    if (options.observer !== undefined) this.addObserver(options.observer)
  }

  /** Opens a repository: reads and validates its config and loads its registry. */
  static async open(options: FeatureStoreOptions | string = {}): Promise<FeatureStore> {
    const opts: FeatureStoreOptions = typeof options === 'string' ? { repoPath: options } : options
    const config =
      opts.config ??
      loadRepoConfig({
        ...(opts.repoPath !== undefined && { repoPath: opts.repoPath }),
        ...(opts.configPath !== undefined && { configPath: opts.configPath }),
        ...(opts.env !== undefined && { env: opts.env }),
      })
    const store = new FeatureStore(config, opts)
    store.registry.setPreparer(
      (snap) => store.#loadUdfsFor(snap),
      (err) => store.#observer?.onUdfReloadError?.(err),
    )
    await store.registry.snapshot()
    // Created now (backends load their drivers on first use) so that a training-set job can be built synchronously.
    await store.offlineStore()
    return store
  }

  get project(): string {
    return this.config.project
  }

  /** The online store, connected on first use. */
  async onlineStore(): Promise<OnlineStore> {
    if (this.#online !== undefined) return this.#online
    this.#checkOpen()
    this.#onlinePending ??= createOnlineStore(this.config.onlineStore, {
      project: this.config.project,
      repoPath: this.config.repoPath,
      entityKeySerializationVersion: this.config.entityKeySerializationVersion,
    }).then((s) => {
      this.#online = s
      return s
    })
    try {
      return await this.#onlinePending
    } catch (err) {
      this.#onlinePending = undefined
      throw err
    }
  }

  /** The offline store, created on first use. */
  async offlineStore(): Promise<OfflineStore> {
    this.#checkOpen()
    this.#offline ??= this.#options.offlineStore
      ? Promise.resolve(this.#options.offlineStore)
      : createOfflineStore(this.config.offlineStore, { repoPath: this.config.repoPath })
    this.#offlineInstance = await this.#offline
    return this.#offlineInstance
  }

  /**
   * A training set (Feast's `get_historical_features`): for each entity row and each view, the
   * latest feature values at the row's `event_timestamp` (no older than the view's ttl), computed
   * by the offline store as one SQL join; on-demand features are computed on the result. Every
   * entity row is kept, in order. Nothing runs until `toRows`, `toArrow` or `toFile` is called.
   *
   * @example
   * const job = store.getHistoricalFeatures({ entities: { path: 'data/loans.parquet' }, featureService: 'credit_model' })
   * await job.toFile('training.parquet')
   */
  getHistoricalFeatures(request: HistoricalFeaturesRequest): RetrievalJob {
    this.#checkOpen()
    const snapshot = this.registry.current()
    const offline = this.#offlineInstance
    if (snapshot === undefined || offline === undefined) throw new MorselError('MORSEL_INTERNAL', 'getHistoricalFeatures called on a FeatureStore that was not opened with FeatureStore.open')
    return new RetrievalJob(offline.historicalJob(compileHistoricalQuery(snapshot, request, this.#udfs)))
  }

  /**
   * Loads the latest values of `[start, end]` into the online store, per view (every view with
   * `online: true`, or those named), and records the window in the registry once written.
   */
  async materialize(options: MaterializeOptions): Promise<MaterializeResult> {
    return materialize(this.#materializationContext(), options)
  }

  /** Materializes each view from where its last recorded window ended up to `end`. */
  async materializeIncremental(options: MaterializeIncrementalOptions): Promise<MaterializeResult> {
    return materializeIncremental(this.#materializationContext(), options)
  }

  #materializationContext(): MaterializationContext {
    this.#checkOpen()
    return {
      registry: this.registry,
      project: this.project,
      offlineStore: () => this.offlineStore(),
      onlineStore: () => this.onlineStore(),
      entityKeySerializationVersion: this.config.entityKeySerializationVersion,
      onlineWriteBatchSize: this.config.materialization.onlineWriteBatchSize,
      lockPathOf: (view) => `${this.config.registry.path}.${this.project}.${view}.materialize.lock`,
      onlineTarget: onlineStoreTarget(this.config.onlineStore, this.config.repoPath),
    }
  }

  /**
   * Reads the latest feature values of entities from the online store, with Feast's statuses:
   * PRESENT, NULL_VALUE, NOT_FOUND, and OUTSIDE_MAX_AGE when a value is older than its view's ttl
   * (then the value is withheld: null).
   */
  getOnlineFeatures<S extends FeatureService, Full extends boolean = false>(
    request: TypedServiceRequest<S, Full>,
  ): Promise<OnlineResponse<ServiceRow<S, Full>>>
  getOnlineFeatures(request: OnlineFeaturesRequest): Promise<OnlineResponse>
  async getOnlineFeatures(request: OnlineFeaturesRequest): Promise<OnlineResponse> {
    const snapshot = this.registry.current() ?? (await this.registry.snapshot())
    const store = this.#online ?? (await this.onlineStore())
    return this.#read(this.planFor(snapshot, request), this.#input(request), store, request.signal)
  }

  /**
   * Reads with a plan from `planFor` and entity columns already checked: for a server that has
   * compiled, authorized and coerced a request and should not pay for it twice. The online store
   * must be open (`onlineStore()`).
   */
  readWithPlan(plan: ReadPlan, input: EntityColumns, options?: { readonly signal?: AbortSignal }): Promise<OnlineResponse> {
    const store = this.#online
    if (store === undefined) throw new MorselError('MORSEL_INTERNAL', 'readWithPlan called before the online store was opened')
    return this.#read(plan, input, store, options?.signal)
  }

  #read(plan: ReadPlan, input: EntityColumns, store: OnlineStore, signal: AbortSignal | undefined): Promise<OnlineResponse> {
    const observer = this.#observer
    const options = signal ? { signal } : undefined
    if (observer?.onOnlineRead === undefined) return executeRead(plan, input, store, options)
    const t0 = performance.now()
    return executeRead(plan, input, store, options).then((response) => {
      observer.onOnlineRead!(plan, response, performance.now() - t0)
      return response
    })
  }

  /** The compiled read plan for a request's feature set, cached while the definitions stay the same. */
  planFor(snapshot: RegistrySnapshot, request: OnlineFeaturesRequest): ReadPlan {
    const full = request.fullFeatureNames === true
    const svc = request.featureService
    const svcName = typeof svc === 'string' ? svc : svc?.spec.name
    // JSON keeps ['v:a,v:b'] apart from ['v:a', 'v:b'].
    const key = svcName !== undefined ? `${full ? 'F' : 'f'}#${svcName}` : `${full ? 'F' : 'f'}${JSON.stringify(request.features ?? [])}`
    if (this.#plans.definitionsId !== snapshot.definitionsId) this.#plans = { definitionsId: snapshot.definitionsId, byKey: new Map() }
    const plans = this.#plans.byKey
    let plan = plans.get(key)
    if (plan === undefined) {
      const store = this.#online
      if (store === undefined) throw new MorselError('MORSEL_INTERNAL', 'planFor called before the online store was opened')
      plan = compileReadPlan(
        snapshot,
        svcName !== undefined ? { featureService: svcName, fullFeatureNames: full } : { features: request.features ?? [], fullFeatureNames: full },
        store,
        this.config.entityKeySerializationVersion,
        this.#udfs,
      )
      if (plans.size >= 1000) plans.clear()
      plans.set(key, plan)
    }
    return plan
  }

  /** Adds hooks (the feature server's metrics) to an open store. Returns a function removing them. */
  addObserver(observer: FeatureStoreObserver): () => void {
    this.#observers = [...this.#observers, observer]
    this.#observer = combineObservers(this.#observers)
    return () => {
      this.#observers = this.#observers.filter((o) => o !== observer)
      this.#observer = combineObservers(this.#observers)
    }
  }

  /**
   * Pushes rows to a push source (Feast's `push`): online to every feature view fed by it (the
   * newest event time per entity wins), offline to its batch source, or both (`to`). Each row holds
   * join keys, the event time and features; bad input is refused before anything is written.
   */
  async push(
    pushSourceName: string,
    rows: readonly EntityRow[] | Readonly<Record<string, readonly unknown[]>>,
    options: { readonly to?: PushTarget | 'online_and_offline' } = {},
  ): Promise<PushSummary> {
    const to = parsePushTarget(options.to)
    const snapshot = this.registry.current() ?? (await this.registry.snapshot())
    const input = Array.isArray(rows) ? entityRowsToColumns(rows) : entityColumnsFrom(rows, 'rows')
    const ctx = {
      snapshot,
      onlineStore: () => this.onlineStore(),
      offlineStore: () => this.offlineStore(),
      entityKeySerializationVersion: this.config.entityKeySerializationVersion,
      onlineWriteBatchSize: this.config.materialization.onlineWriteBatchSize,
    }
    return pushRows(ctx, pushSourceName, input, to)
  }

  /**
   * Writes rows of a feature view to the online store (Feast's `write_to_online_store`). Each row
   * holds the view's join keys, its source's timestamp field and every feature. A row older than
   * what is stored for its entity is skipped, never written over newer data.
   */
  async writeToOnlineStore(viewName: string, rows: readonly EntityRow[] | Readonly<Record<string, readonly unknown[]>>): Promise<WriteSummary> {
    const snapshot = await this.registry.snapshot()
    const view = snapshot.getFeatureView(viewName)
    const source = snapshot.getDataSource(view.source)
    if (source.kind === 'request') throw new MorselError('MORSEL_DEFINITION_INVALID', `View '${viewName}' has a request source.`)
    const input = Array.isArray(rows) ? entityRowsToColumns(rows) : entityColumnsFrom(rows, 'rows')
    const encoded = encodeWriteRows(view, source, input, this.config.entityKeySerializationVersion)
    const { written, skipped } = await writeInBatches(await this.onlineStore(), view, encoded, this.config.materialization.onlineWriteBatchSize)
    return { rows: encoded.length, written, skipped }
  }

  /** What `apply` would change, without changing anything. */
  async plan(): Promise<RepoPlan> {
    const contents = await this.#loadAndValidate()
    const snapshot = await this.registry.refresh()
    return computePlan(this.project, snapshot.version, snapshot.state, contents)
  }

  /**
   * Registers the repository's definitions: validates them (against their source files too),
   * commits the difference to the registry if no other apply changed the definitions since this
   * store read them (otherwise MORSEL_REGISTRY_CONFLICT, and nothing is written), then removes the
   * online data of views that were deleted or re-keyed. That removal is recorded in the registry
   * before it is attempted, so if it fails the next apply or teardown completes it.
   */
  async apply(): Promise<ApplyResult> {
    // The base is the registry as this store last read it (when the command started), so an apply
    // committed by someone else while this one loaded and validated is a conflict, not lost.
    const snapshot = await this.registry.snapshot()
    const contents = await this.#loadAndValidate()
    const plan = computePlan(this.project, snapshot.version, snapshot.state, contents)
    this.#addUdfs(contents)
    let version = snapshot.version
    if (plan.hasChanges || snapshot.isEmpty) {
      const now = new Date().toISOString()
      const next = await this.registry.commit(
        (doc): RegistryDocument => ({
          ...doc,
          projects: { ...doc.projects, [this.project]: applyPlanToState(doc.projects[this.project], contents, now, this.config.projectDescription) },
        }),
        { expectedDefinitionsId: snapshot.definitionsId },
      )
      version = next.version
    }
    const cleanup = await this.#removePendingOnlineData()
    return { plan, version, ...cleanup }
  }

  /** Deletes the project's online data and removes the project from the registry. */
  async teardown(): Promise<{ readonly views: readonly string[] }> {
    const snapshot = await this.registry.refresh()
    const views: OnlineViewRef[] = [...snapshot.featureViews.values()].map(viewRef)
    for (const p of snapshot.state?.pendingOnlineDeletes ?? []) if (!views.some((v) => v.name === p.name)) views.push(p)
    if (views.length > 0) await (await this.onlineStore()).deleteViews(views)
    if (!snapshot.isEmpty) {
      await this.registry.commit((doc) => {
        const projects = { ...doc.projects }
        delete projects[this.project]
        return { ...doc, projects }
      })
    }
    return { views: views.map((v) => v.name) }
  }

  /** Removes the online data the registry says is pending removal, then clears the record. */
  async #removePendingOnlineData(): Promise<Pick<ApplyResult, 'clearedOnlineViews' | 'pendingOnlineViews' | 'onlineCleanupError'>> {
    const pending = (await this.registry.snapshot()).state?.pendingOnlineDeletes ?? []
    if (pending.length === 0) return { clearedOnlineViews: [], pendingOnlineViews: [] }
    const names = pending.map((p) => p.name)
    try {
      await (await this.onlineStore()).deleteViews(pending)
    } catch (err) {
      return { clearedOnlineViews: [], pendingOnlineViews: names, onlineCleanupError: toMorselError(err, 'MORSEL_STORE_ERROR') }
    }
    await this.registry.commit((doc) => {
      const project = doc.projects[this.project]
      if (project === undefined) return doc
      const left = (project.pendingOnlineDeletes ?? []).filter((p) => !pending.some((d) => d.name === p.name && d.joinKeys.join(',') === p.joinKeys.join(',')))
      return { ...doc, projects: { ...doc.projects, [this.project]: { ...project, pendingOnlineDeletes: left } } }
    })
    return { clearedOnlineViews: names, pendingOnlineViews: [] }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.registry.stopAutoRefresh()
    const online = this.#online ?? (await this.#onlinePending?.catch(() => undefined))
    const offline = await this.#offline?.catch(() => undefined)
    await Promise.all([online?.close(), offline?.close()])
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #input(request: OnlineRequestBase): EntityColumns {
    if (request.entityRows !== undefined) {
      if (request.entities !== undefined) throw new MorselError('MORSEL_REQUEST_INVALID', 'Give either `entityRows` or `entities`, not both.')
      return entityRowsToColumns(request.entityRows)
    }
    if (request.entities !== undefined) return entityColumnsFrom(request.entities)
    throw new MorselError('MORSEL_REQUEST_INVALID', 'No entities given: pass `entityRows` (e.g. [{ zipcode: 76104 }]) or `entities`.')
  }

  async #loadAndValidate(): Promise<RepoContents> {
    const contents = await loadDefinitions(this.config.repoPath)
    const offline = await this.offlineStore()
    await validateRepo(contents, (s) => offline.describeSource(s))
    return contents
  }

  /** Loads the repository's on-demand functions when a snapshot names one this process does not have. */
  async #loadUdfsFor(snapshot: RegistrySnapshot): Promise<void> {
    const missing = [...snapshot.onDemandFeatureViews.values()].some((o) => !this.#udfs.has(o.udfHash))
    if (!missing) return
    this.#addUdfs(await loadDefinitions(this.config.repoPath))
  }

  #addUdfs(contents: RepoContents): void {
    const next = new Map(this.#udfs)
    for (const o of contents.onDemandFeatureViews) {
      const udf = contents.udfs.get(o.name)
      if (udf !== undefined) next.set(o.udfHash, udf)
    }
    this.#udfs = next
  }

  #checkOpen(): void {
    if (this.#closed) throw new MorselError('MORSEL_STORE_CLOSED', 'This FeatureStore was closed.')
  }
}

function combineObservers(list: readonly FeatureStoreObserver[]): FeatureStoreObserver | undefined {
  if (list.length <= 1) return list[0]
  return {
    onOnlineRead: (plan, response, ms) => {
      for (const o of list) o.onOnlineRead?.(plan, response, ms)
    },
    onUdfReloadError: (err) => {
      for (const o of list) o.onUdfReloadError?.(err)
    },
  }
}

function viewRef(v: FeatureViewSpec): OnlineViewRef {
  return { name: v.name, joinKeys: v.entityColumns.map((c) => c.name), features: v.features.map((f) => f.name) }
}
