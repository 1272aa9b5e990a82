export { featureFieldKey, murmur3x86_32 } from './murmur3.js'
export {
  createEntityKeyEncoder,
  entityKeyPrefix,
  parseEntityKey,
  serializeEntityKey,
  type EntityKeyEncoder,
  type EntityKeyScalar,
  type EntityKeyVersion,
  type JoinKeySpec,
  type ParsedEntityKey,
} from './entity-key.js'
export {
  NULL_VALUE_BYTES,
  decodeValue,
  encodeValue,
  valueFieldName,
  valueFieldOfEncoded,
  valueTypeOfEncoded,
} from './value-proto.js'
export { decodeTimestamp, encodeTimestamp } from './timestamp-proto.js'
