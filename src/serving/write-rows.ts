import type { BatchSourceSpec, FeatureViewSpec } from '../definitions/specs.js'
import { encodeValue, type EntityKeyVersion } from '../encoding/index.js'
import { MorselError, didYouMean } from '../errors/index.js'
import { toEpochMicros, toTimestampValue } from '../internal/time.js'
import type { OnlineStore, OnlineWriteResult, OnlineWriteRow } from '../online/online-store.js'
import { ValueType, type ValueTypeCode } from '../types/value-type.js'
import type { EntityColumns } from './entity-input.js'
import { createKeyEncoder } from './key-encoder.js'

/**
 * Encodes rows given for a feature view (join keys, the source's timestamp field, every feature)
 * into store rows. Columns may use the view's names or the source's (via `fieldMapping`).
 * Every problem is caught before anything is written.
 */
export function encodeWriteRows(view: FeatureViewSpec, source: BatchSourceSpec, input: EntityColumns, version: EntityKeyVersion): OnlineWriteRow[] {
  const file = source.kind === 'push' ? source.batchSource : source
  const what = `Rows for feature view '${view.name}'`
  const mapped = new Map<string, readonly unknown[]>()
  for (const name of input.names) mapped.set(file.fieldMapping[name] ?? name, input.columns.get(name)!)

  const timestampField = file.timestampField
  const times = mapped.get(timestampField) ?? (timestampField !== 'event_timestamp' ? mapped.get('event_timestamp') : undefined)
  if (times === undefined) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `${what} need the event-time column '${timestampField}' (the timestamp field of source '${source.name}').${didYouMean(timestampField, input.names)}`)
  }
  const keyCols = view.entityColumns.map((c) => {
    const col = mapped.get(c.name)
    if (col === undefined) {
      throw new MorselError('MORSEL_ENTITY_KEY_INVALID', `${what} need the join key column '${c.name}'.${didYouMean(c.name, input.names)}`)
    }
    return col
  })
  const missing = view.features.filter((f) => !mapped.has(f.name)).map((f) => f.name)
  if (missing.length > 0) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `${what} lack the feature columns ${missing.join(', ')}; give every feature of the view (null is allowed).`, {
      details: { missing },
    })
  }
  const known = new Set([timestampField, 'event_timestamp', file.createdTimestampColumn, ...view.entityColumns.map((c) => c.name), ...view.features.map((f) => f.name)])
  for (const name of mapped.keys()) {
    if (!known.has(name)) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `${what}: column '${name}' is not a join key, time or feature of the view.${didYouMean(name, known)}`, {
        details: { column: name },
      })
    }
  }

  const encoder = createKeyEncoder(
    view.entityColumns.map((c) => ({ name: c.name, valueType: c.valueType as ValueTypeCode })),
    version,
  )
  const featureCols = view.features.map((f) => ({ f, col: mapped.get(f.name)! }))
  const rows: OnlineWriteRow[] = new Array<OnlineWriteRow>(input.rowCount)
  const keyValues = new Array<unknown>(keyCols.length)
  for (let r = 0; r < input.rowCount; r++) {
    for (let k = 0; k < keyCols.length; k++) keyValues[k] = keyCols[k]![r]
    rows[r] = {
      entityKey: encoder.encode(keyValues),
      eventTimeMicros: toEpochMicros(times[r], `${what}, row ${r}: '${timestampField}'`),
      values: featureCols.map(({ f, col }) => encodeValue(timeForm(col[r], f.valueType, `${view.name}:${f.name} (row ${r})`), f.valueType as ValueTypeCode, `${view.name}:${f.name} (row ${r})`)),
    }
  }
  return rows
}

/** UnixTimestamp values (and list items) in any form a time may be given, as the encoder takes them. */
function timeForm(value: unknown, valueType: number, what: string): unknown {
  if (valueType === ValueType.UNIX_TIMESTAMP) return toTimestampValue(value, what)
  if (valueType === ValueType.UNIX_TIMESTAMP_LIST && Array.isArray(value)) return value.map((v, i) => toTimestampValue(v, `${what}, item ${i}`))
  return value
}

/** Writes encoded rows of a view in batches of `batchSize` (one store call each), summing the results. */
export async function writeInBatches(store: OnlineStore, view: FeatureViewSpec, rows: readonly OnlineWriteRow[], batchSize: number): Promise<OnlineWriteResult> {
  const features = view.features.map((f) => f.name)
  let written = 0
  let skipped = 0
  for (let i = 0; i < rows.length; i += batchSize) {
    const r = await store.writeBatch({ view: view.name, features, rows: rows.slice(i, i + batchSize) })
    written += r.written
    skipped += r.skipped
  }
  return { written, skipped }
}
