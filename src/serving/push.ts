import type { FeatureViewSpec, PushSourceSpec } from '../definitions/specs.js'
import type { EntityKeyVersion } from '../encoding/index.js'
import { MorselError, didYouMean } from '../errors/index.js'
import type { OfflineStore } from '../offline/offline-store.js'
import type { OnlineStore, OnlineWriteRow } from '../online/online-store.js'
import type { RegistrySnapshot } from '../registry/registry-snapshot.js'
import type { ColumnarRows } from '../types/columnar.js'
import { encodeWriteRows, writeInBatches } from './write-rows.js'

/** Where pushed rows go: Feast's `to` (`online_and_offline` is accepted as `both`). */
export type PushTarget = 'online' | 'offline' | 'both'

export interface PushViewSummary {
  readonly view: string
  readonly written: number
  /** Rows not written because an equal or newer event time was already stored. */
  readonly skipped: number
}

export interface PushSummary {
  readonly pushSource: string
  readonly rows: number
  readonly to: PushTarget
  /** One entry per online feature view fed by the push source (empty when `to` is offline). */
  readonly views: readonly PushViewSummary[]
  /**
   * Rows appended to the push source's batch source (0 when `to` is online); rows the file
   * already holds, identical in every given column, are not appended again and not counted.
   */
  readonly offlineRows: number
}

export interface PushContext {
  readonly snapshot: RegistrySnapshot
  readonly onlineStore: () => Promise<OnlineStore>
  readonly offlineStore: () => Promise<OfflineStore>
  readonly entityKeySerializationVersion: EntityKeyVersion
  readonly onlineWriteBatchSize: number
}

/** The push source of that name, or an error naming near matches. */
export function getPushSource(snapshot: RegistrySnapshot, name: string): PushSourceSpec {
  const source = snapshot.dataSources.get(name)
  if (source === undefined) {
    const pushSources = [...snapshot.dataSources.values()].filter((s) => s.kind === 'push').map((s) => s.name)
    throw new MorselError(
      'MORSEL_NOT_FOUND',
      `Push source '${name}' is not registered in project '${snapshot.project}'.${didYouMean(name, pushSources)}${pushSources.length ? ` Push sources: ${pushSources.join(', ')}.` : ''}`,
      { details: { pushSource: name } },
    )
  }
  if (source.kind !== 'push') {
    throw new MorselError('MORSEL_REQUEST_INVALID', `Data source '${name}' is a ${source.kind} source; rows can only be pushed to a PushSource.`, {
      details: { pushSource: name },
    })
  }
  return source
}

/** The feature views whose source is this push source: where its rows go online. */
export function pushTargets(snapshot: RegistrySnapshot, pushSource: string): FeatureViewSpec[] {
  return [...snapshot.featureViews.values()].filter((v) => v.source === pushSource)
}

export function parsePushTarget(to: unknown): PushTarget {
  switch (to) {
    case undefined:
    case 'online':
      return 'online'
    case 'offline':
      return 'offline'
    case 'both':
    case 'online_and_offline':
      return 'both'
    default:
      throw new MorselError(
        'MORSEL_REQUEST_INVALID',
        `\`to\` must be "online", "offline" or "both" (Feast's "online_and_offline" also works), got ${JSON.stringify(to) ?? String(to)}.`,
      )
  }
}

/**
 * Pushes rows to every feature view fed by a push source (Feast's `push`). A row carries join
 * keys, the event time and features; each view takes the columns it has, and a column no view
 * knows is an error (a misspelt feature would otherwise be dropped silently). Every row of every
 * view is encoded before anything is written, so bad input writes nothing. Online writes keep the
 * newest event time per entity; the offline append runs after them, so retrying a push that failed
 * offline rewrites nothing online (equal event times are skipped), and the offline append skips
 * rows the file already holds, so a retry after a timeout whose first attempt landed adds nothing.
 */
export async function pushRows(ctx: PushContext, name: string, input: ColumnarRows, to: PushTarget): Promise<PushSummary> {
  const source = getPushSource(ctx.snapshot, name)
  const views = pushTargets(ctx.snapshot, name).filter((v) => v.online)
  checkColumns(source, pushTargets(ctx.snapshot, name), input)

  const encoded: Array<{ view: FeatureViewSpec; rows: OnlineWriteRow[] }> = []
  if (to !== 'offline') {
    for (const view of views) encoded.push({ view, rows: encodeWriteRows(view, source, project(source, view, input), ctx.entityKeySerializationVersion) })
  }
  // Opened before any online write, so a misconfigured offline store fails the push while nothing is written.
  const offline = to !== 'online' ? await ctx.offlineStore() : undefined

  const summaries: PushViewSummary[] = []
  if (encoded.length > 0) {
    const store = await ctx.onlineStore()
    const size = ctx.onlineWriteBatchSize
    for (const { view, rows } of encoded) summaries.push({ view: view.name, ...(await writeInBatches(store, view, rows, size)) })
  }
  const offlineRows = offline !== undefined ? await offline.appendRows(source, input) : 0
  return { pushSource: name, rows: input.rowCount, to, views: summaries, offlineRows }
}

/** Source column name as the views see it (after the batch source's field mapping). */
function mappedName(source: PushSourceSpec, column: string): string {
  return source.batchSource.fieldMapping[column] ?? column
}

function checkColumns(source: PushSourceSpec, views: readonly FeatureViewSpec[], input: ColumnarRows): void {
  const batch = source.batchSource
  const known = new Set<string>([batch.timestampField, 'event_timestamp'])
  if (batch.createdTimestampColumn !== '') known.add(batch.createdTimestampColumn)
  for (const v of views) {
    for (const c of v.entityColumns) known.add(c.name)
    for (const f of v.features) known.add(f.name)
  }
  for (const name of input.names) {
    if (!known.has(mappedName(source, name))) {
      throw new MorselError(
        'MORSEL_REQUEST_INVALID',
        `Column '${name}' pushed to '${source.name}' is not a join key, time or feature of any feature view fed by it (${views.map((v) => `'${v.name}'`).join(', ') || 'none'}).${didYouMean(name, known)}`,
        { details: { column: name } },
      )
    }
  }
}

/** The columns of `input` that belong to one view (keys, times, its features). */
function project(source: PushSourceSpec, view: FeatureViewSpec, input: ColumnarRows): ColumnarRows {
  const batch = source.batchSource
  const wanted = new Set<string>([batch.timestampField, 'event_timestamp', ...view.entityColumns.map((c) => c.name), ...view.features.map((f) => f.name)])
  if (batch.createdTimestampColumn !== '') wanted.add(batch.createdTimestampColumn)
  const names = input.names.filter((n) => wanted.has(mappedName(source, n)))
  return { names, columns: new Map(names.map((n) => [n, input.columns.get(n)!])), rowCount: input.rowCount }
}
