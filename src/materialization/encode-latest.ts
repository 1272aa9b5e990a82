import type { FeatureViewSpec } from '../definitions/specs.js'
import { createEntityKeyEncoder, encodeValue, type EntityKeyVersion } from '../encoding/index.js'
import type { LatestBatch } from '../offline/offline-store.js'
import type { OnlineWriteRow } from '../online/online-store.js'
import type { ValueTypeCode } from '../types/value-type.js'

/** Encodes pulled batches of one view into online store rows: Feast's entity keys and Value protobufs. */
export function createLatestEncoder(view: FeatureViewSpec, version: EntityKeyVersion): (batch: LatestBatch) => OnlineWriteRow[] {
  const keys = view.entityColumns.map((c) => ({ name: c.name, valueType: c.valueType as ValueTypeCode }))
  const encoder = createEntityKeyEncoder(keys, version)
  const features = view.features.map((f) => ({ name: f.name, valueType: f.valueType as ValueTypeCode, context: `${view.name}:${f.name}` }))
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
        values[f] = encodeValue((featureCols[f] as readonly unknown[])[r], spec.valueType, spec.context)
      }
      rows[r] = { entityKey: encoder.encode(keyValues), eventTimeMicros: batch.eventTimeMicros[r] as number, values }
    }
    return rows
  }
}
