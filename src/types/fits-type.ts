import { ELEMENT_OF, ValueType, type ValueTypeCode } from './value-type.js'

/** Whether a JavaScript value has the shape of a declared Feast type (a cheap check, no coercion). */
export function fitsType(v: unknown, type: ValueTypeCode): boolean {
  const element = ELEMENT_OF[type]
  if (element !== undefined) return Array.isArray(v) && v.every((x) => x !== null && fitsType(x, element))
  switch (type) {
    case ValueType.INT32:
    case ValueType.INT64:
      return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint'
    case ValueType.FLOAT:
    case ValueType.DOUBLE:
      return typeof v === 'number'
    case ValueType.STRING:
      return typeof v === 'string'
    case ValueType.BOOL:
      return typeof v === 'boolean'
    case ValueType.BYTES:
      return v instanceof Uint8Array
    case ValueType.UNIX_TIMESTAMP:
      return v instanceof Date
    default:
      return true
  }
}
