import type { FeatureViewSpec } from '../definitions/specs.js'
import { createEntityKeyEncoder, encodeValue, type EntityKeyVersion } from '../encoding/index.js'
import type { LatestBatch } from '../offline/offline-store.js'
import type { OnlineWriteRow } from '../online/online-store.js'
import type { ValueTypeCode } from '../types/value-type.js'

/** Distinct values remembered per feature; beyond it, values are encoded afresh. */
const MEMO_SIZE = 4096

/**
 * Encodes pulled batches of one view into online store rows: Feast's entity keys and Value
 * protobufs. Feature values repeat a lot (categories, flags, small counts), so each feature keeps
 * the encoded bytes of its first few thousand distinct values and hands the same (never mutated)
 * buffer to every row that has one: far fewer allocations, which is what bounds materialization
 * speed and memory in a garbage-collected runtime.
 */
export function createLatestEncoder(view: FeatureViewSpec, version: EntityKeyVersion): (batch: LatestBatch) => OnlineWriteRow[] {
  const keys = view.entityColumns.map((c) => ({ name: c.name, valueType: c.valueType as ValueTypeCode }))
  const encoder = createEntityKeyEncoder(keys, version)
  const features = view.features.map((f) => ({
    name: f.name,
    valueType: f.valueType as ValueTypeCode,
    context: `${view.name}:${f.name}`,
    memo: new Map<string | number | boolean, Uint8Array>(),
  }))
  return (batch) => {
    const keyCols = keys.map((k) => batch.columns.get(k.name) as readonly unknown[])
    const featureCols = features.map((f) => batch.columns.get(f.name) as readonly unknown[])
    const keyValues = new Array<unknown>(keyCols.length)
    const rows = new Array<OnlineWriteRow>(batch.rowCount)
    for (let r = 0; r < batch.rowCount; r++) {
      for (let k = 0; k < keyCols.length; k++) keyValues[k] = (keyCols[k] as readonly unknown[])[r]
      const values = new Array<Uint8Array>(features.length)
      for (let f = 0; f < features.length; f++) {
        const spec = features[f] as (typeof features)[number]
        const v = (featureCols[f] as readonly unknown[])[r]
        // -0 is left out: a Map holds it as 0, but a Double of -0 has its own bytes.
        if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && !Object.is(v, -0))) {
          let bytes = spec.memo.get(v)
          if (bytes === undefined) {
            bytes = encodeValue(v, spec.valueType, spec.context)
            if (spec.memo.size < MEMO_SIZE) spec.memo.set(v, bytes)
          }
          values[f] = bytes
        } else {
          values[f] = encodeValue(v, spec.valueType, spec.context)
        }
      }
      rows[r] = { entityKey: encoder.encode(keyValues), eventTimeMicros: batch.eventTimeMicros[r] as number, values }
    }
    return rows
  }
}
