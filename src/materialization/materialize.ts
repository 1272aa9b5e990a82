import { setTimeout as sleep } from 'node:timers/promises'
import type { FeatureViewSpec } from '../definitions/specs.js'
import type { EntityKeyVersion } from '../encoding/index.js'
import { MorselError, isMorselError } from '../errors/index.js'
import { batchSource } from '../offline/historical-query.js'
import type { OfflineStore, PullLatestRequest } from '../offline/offline-store.js'
import type { OnlineStore, OnlineWriteBatch, OnlineWriteResult } from '../online/online-store.js'
import { addInterval, type RegistryDocument } from '../registry/registry-document.js'
import type { Registry } from '../registry/registry.js'
import type { RegistrySnapshot } from '../registry/registry-snapshot.js'
import type { ValueTypeCode } from '../types/value-type.js'
import { createLatestEncoder } from './encode-latest.js'
import { acquireMaterializationLocks } from './materialization-lock.js'

/** What materialization needs from the feature store. */
export interface MaterializationContext {
  readonly registry: Registry
  readonly project: string
  readonly offlineStore: () => Promise<OfflineStore>
  readonly onlineStore: () => Promise<OnlineStore>
  readonly entityKeySerializationVersion: EntityKeyVersion
  readonly onlineWriteBatchSize: number
  /** The lock file that keeps two materializations of a view from running at once. */
  readonly lockPathOf: (view: string) => string
  /** The online store written to, as `onlineStoreTarget` names it: windows are recorded per store. */
  readonly onlineTarget: string
}

export interface MaterializeProgress {
  readonly view: string
  /** `start` before the first write of a view, `progress` after each batch, `done` once its interval is recorded. */
  readonly phase: 'start' | 'progress' | 'done'
  readonly start: Date
  readonly end: Date
  /** Rows the view has to write: one per entity with data in the window. */
  readonly total: number
  /** Rows handled so far (written + skipped). */
  readonly rows: number
  readonly written: number
  readonly skipped: number
  readonly elapsedMs: number
}

interface CommonOptions {
  /** Feature views to materialize; default every view with `online: true`. */
  readonly views?: readonly string[]
  readonly onProgress?: (event: MaterializeProgress) => void
  readonly signal?: AbortSignal
  /** When another materialization of the project runs: wait up to this long for it (default 0: fail with MORSEL_BUSY). */
  readonly waitMs?: number
}

export interface MaterializeOptions extends CommonOptions {
  readonly start: Date
  readonly end: Date
}

export interface MaterializeIncrementalOptions extends CommonOptions {
  readonly end: Date
}

export interface ViewMaterializeResult {
  readonly view: string
  readonly start: Date
  readonly end: Date
  /** Rows read: the latest row of each entity in the window. */
  readonly rows: number
  readonly written: number
  /** Rows the online store already held at an equal or newer event time. */
  readonly skipped: number
  readonly durationMs: number
}

export interface MaterializeResult {
  readonly views: readonly ViewMaterializeResult[]
}

const WEEK_MS = 7 * 24 * 3600 * 1000

/**
 * Loads the latest feature values of `[start, end]` (both inclusive) into the online store
 * (Feast's `materialize`): per view, the latest row of each entity in the window, streamed from
 * the offline store batch by batch and written with newest-event-time-wins; the window is
 * recorded in the registry only after every write of the view succeeded. Re-running is harmless.
 */
export async function materialize(ctx: MaterializationContext, options: MaterializeOptions): Promise<MaterializeResult> {
  const start = checkDate(options.start, 'start')
  const end = checkDate(options.end, 'end')
  if (start.getTime() > end.getTime()) {
    throw new MorselError('MORSEL_USAGE', `The materialization window starts (${start.toISOString()}) after it ends (${end.toISOString()}); give START before END.`)
  }
  return run(ctx, options, `materialize ${start.toISOString()} ${end.toISOString()}`, () => ({ start, end }))
}

/**
 * Materializes each view from the end of its last recorded window up to `end` (Feast's
 * `materialize_incremental`). A view never materialized starts at now − ttl, or 52 weeks ago when
 * it has no ttl.
 */
export async function materializeIncremental(ctx: MaterializationContext, options: MaterializeIncrementalOptions): Promise<MaterializeResult> {
  const end = checkDate(options.end, 'end')
  const now = Date.now()
  return run(ctx, options, `materialize-incremental ${end.toISOString()}`, (view, snapshot) => ({ start: incrementalStart(view, snapshot, now, ctx.onlineTarget), end }))
}

/**
 * Where an incremental run of a view starts: where the windows recorded for this online store
 * end. Windows written to another store (the config switched from SQLite to Redis, or to another
 * Redis) say nothing about this one, so the view starts over as if never materialized.
 */
export function incrementalStart(view: FeatureViewSpec, snapshot: RegistrySnapshot, nowMs: number, onlineTarget: string): Date {
  const recorded = snapshot.materialization(view.name)
  const intervals = sameStore(recorded.onlineStore, onlineTarget) ? recorded.intervals : []
  if (intervals.length > 0) return new Date(Math.max(...intervals.map((i) => Date.parse(i.end))))
  return new Date(view.ttlSeconds > 0 ? nowMs - view.ttlSeconds * 1000 : nowMs - 52 * WEEK_MS)
}

async function run(
  ctx: MaterializationContext,
  options: CommonOptions,
  what: string,
  windowOf: (view: FeatureViewSpec, snapshot: RegistrySnapshot) => { start: Date; end: Date },
): Promise<MaterializeResult> {
  const selected = selectViews(await ctx.registry.refresh(), options.views)
  const release = await acquireMaterializationLocks(
    selected.map((v) => ({ view: v.name, path: ctx.lockPathOf(v.name) })),
    what,
    { ...(options.waitMs !== undefined && { waitMs: options.waitMs }), ...(options.signal && { signal: options.signal }) },
  )
  try {
    // Read again under the locks: an incremental start must see the intervals the previous run recorded.
    const snapshot = await ctx.registry.refresh()
    const views = selected.map((v) => snapshot.featureViews.get(v.name) ?? v)
    const offline = await ctx.offlineStore()
    const online = await ctx.onlineStore()
    const results: ViewMaterializeResult[] = []
    for (const view of views) {
      options.signal?.throwIfAborted()
      const { start, end } = windowOf(view, snapshot)
      if (start.getTime() > end.getTime()) {
        results.push({ view: view.name, start, end, rows: 0, written: 0, skipped: 0, durationMs: 0 })
        continue
      }
      results.push(await materializeView(ctx, snapshot, view, start, end, offline, online, options))
    }
    return { views: results }
  } finally {
    await release()
  }
}

function selectViews(snapshot: RegistrySnapshot, names: readonly string[] | undefined): FeatureViewSpec[] {
  if (names === undefined || names.length === 0) return [...snapshot.featureViews.values()].filter((v) => v.online)
  return [...new Set(names)].map((n) => {
    const found = snapshot.getAnyView(n)
    if (found.kind === 'onDemand') throw new MorselError('MORSEL_USAGE', `'${n}' is an on-demand feature view; its features are computed at read time and are not materialized.`)
    return found.spec
  })
}

async function materializeView(
  ctx: MaterializationContext,
  snapshot: RegistrySnapshot,
  view: FeatureViewSpec,
  start: Date,
  end: Date,
  offline: OfflineStore,
  online: OnlineStore,
  options: CommonOptions,
): Promise<ViewMaterializeResult> {
  const t0 = performance.now()
  const source = batchSource(snapshot, view)
  const reverse = new Map(Object.entries(source.fieldMapping).map(([from, to]) => [to, from]))
  const col = (name: string): string => reverse.get(name) ?? name
  const request: PullLatestRequest = {
    view: view.name,
    source,
    joinKeys: view.entityColumns.map((c) => ({ column: col(c.name), name: c.name, valueType: c.valueType as ValueTypeCode })),
    timestampField: source.timestampField,
    createdTimestampColumn: source.createdTimestampColumn,
    features: view.features.map((f) => ({ column: col(f.name), name: f.name, valueType: f.valueType as ValueTypeCode })),
    startMicros: start.getTime() * 1000,
    endMicros: end.getTime() * 1000,
  }
  // Batches of at most one DuckDB vector (online_write_batch_size bounds them too): what a batch
  // allocates (a boxed value per pulled cell, a row object and key per entity, the packed write)
  // then mostly dies young. 10,000-row batches lived long enough to be promoted, and the old
  // generation grew to ~200 MB before a full collection (peak RSS 400 MB at 100k rows vs 285 MB).
  const latest = await offline.pullLatest(request, { batchRows: Math.min(PULL_BATCH_ROWS, ctx.onlineWriteBatchSize), ...(options.signal && { signal: options.signal }) })
  let rows = 0
  let written = 0
  let skipped = 0
  // One write in flight while the next batch is read and encoded: DuckDB, the encoder and the
  // store's network round trips overlap, and at most two batches are held.
  let inFlight: Promise<OnlineWriteResult> | undefined
  // Everything after the pull inside the try: the pull holds a DuckDB connection, which a throw
  // from the encoder's setup or a progress callback would otherwise leave open.
  try {
    const encode = createLatestEncoder(view, ctx.entityKeySerializationVersion)
    const features = view.features.map((f) => f.name)
    const progress = (phase: MaterializeProgress['phase']): void =>
      options.onProgress?.({ view: view.name, phase, start, end, total: latest.rowCount, rows, written, skipped, elapsedMs: performance.now() - t0 })
    const settle = (r: OnlineWriteResult): void => {
      written += r.written
      skipped += r.skipped
      rows = written + skipped
      progress('progress')
    }
    progress('start')
    for await (const batch of latest.batches()) {
      const encoded = encode(batch)
      if (inFlight !== undefined) settle(await inFlight)
      options.signal?.throwIfAborted()
      inFlight = writeWithRetry(online, { view: view.name, features, rows: encoded }, options.signal)
      // Observed now, awaited after the next read: a failure must not surface as an unhandled rejection meanwhile.
      inFlight.catch(() => undefined)
    }
    if (inFlight !== undefined) settle(await inFlight)
    inFlight = undefined
  } finally {
    // A failed read must not leave a write unobserved.
    await inFlight?.catch(() => undefined)
    await latest.close()
  }
  const durationMs = Math.round(performance.now() - t0)
  await recordInterval(ctx, view.name, start, end, { rows, written, durationMs })
  options.onProgress?.({ view: view.name, phase: 'done', start, end, total: latest.rowCount, rows, written, skipped, elapsedMs: performance.now() - t0 })
  return { view: view.name, start, end, rows, written, skipped, durationMs }
}

/** Rows per read from DuckDB and per online write: DuckDB's vector size, so a read takes one chunk. */
const PULL_BATCH_ROWS = 2048

const RETRYABLE = ['MORSEL_WRITE_FAILED', 'MORSEL_STORE_UNAVAILABLE', 'MORSEL_TIMEOUT'] as const

/** A batch write, retried on transient failures: the store keeps the newest event time, so a repeat is harmless. */
async function writeWithRetry(store: OnlineStore, batch: OnlineWriteBatch, signal: AbortSignal | undefined): Promise<OnlineWriteResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.writeBatch(batch, signal ? { signal } : undefined)
    } catch (err) {
      if (attempt >= 3 || !RETRYABLE.some((code) => isMorselError(err, code)) || signal?.aborted === true) throw err
      await sleep(attempt * 250)
    }
  }
}

/** Windows recorded before stores were named are taken to be the current store's, as they were. */
function sameStore(recorded: string | undefined, current: string): boolean {
  return recorded === undefined || recorded === current
}

/**
 * Records a finished window for the current online store (the windows of another store are
 * dropped: they no longer say what this one holds); concurrent registry commits are retried on
 * the fresh document.
 */
async function recordInterval(ctx: MaterializationContext, view: string, start: Date, end: Date, run: { rows: number; written: number; durationMs: number }): Promise<void> {
  const interval = { start: start.toISOString(), end: end.toISOString() }
  await ctx.registry.commit((doc): RegistryDocument => {
    const project = doc.projects[ctx.project]
    // A view deleted while it was being materialized has no history to record.
    if (project?.featureViews[view] === undefined) return doc
    const recorded = project.materializations[view]
    const previous = recorded !== undefined && sameStore(recorded.onlineStore, ctx.onlineTarget) ? recorded : { intervals: [] }
    return {
      ...doc,
      projects: {
        ...doc.projects,
        [ctx.project]: {
          ...project,
          materializations: {
            ...project.materializations,
            [view]: {
              intervals: addInterval(previous.intervals, interval),
              lastRun: { ...interval, ...run, finishedAt: new Date().toISOString() },
              onlineStore: ctx.onlineTarget,
            },
          },
        },
      },
    }
  })
}

function checkDate(d: unknown, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw new MorselError('MORSEL_USAGE', `The materialization ${what} must be a valid Date, got ${d instanceof Date ? 'an invalid Date' : JSON.stringify(d) ?? String(d)}.`)
  }
  return d
}
