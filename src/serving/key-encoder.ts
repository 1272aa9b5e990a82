import { createEntityKeyEncoder, type EntityKeyEncoder, type EntityKeyVersion, type JoinKeySpec } from '../encoding/index.js'
import { toTimestampValue } from '../internal/time.js'
import { ValueType } from '../types/value-type.js'

/**
 * The entity-key encoder for a set of join keys, taking UnixTimestamp keys in every form a time
 * may be given (src/internal/time.ts). Keys of other types pay nothing for it.
 */
export function createKeyEncoder(joinKeys: readonly JoinKeySpec[], version: EntityKeyVersion): EntityKeyEncoder {
  const encoder = createEntityKeyEncoder(joinKeys, version)
  const timeKeys = joinKeys.flatMap((k, i) => (k.valueType === ValueType.UNIX_TIMESTAMP ? [i] : []))
  if (timeKeys.length === 0) return encoder
  const scratch: unknown[] = []
  return {
    joinKeys: encoder.joinKeys,
    version: encoder.version,
    encode(values) {
      scratch.length = 0
      scratch.push(...values)
      for (const i of timeKeys) scratch[i] = toTimestampValue(values[i], `Join key '${joinKeys[i]!.name}' (UnixTimestamp)`)
      return encoder.encode(scratch)
    },
  }
}
