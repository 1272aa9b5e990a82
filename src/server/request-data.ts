import type { FieldSpec } from '../definitions/specs.js'
import { MorselError } from '../errors/index.js'
import { checkEpochSeconds, parseDateTimeMicros } from '../internal/time.js'
import type { EntityColumns } from '../serving/entity-input.js'
import { ELEMENT_OF, ValueType, valueTypeName, type ValueTypeCode } from '../types/value-type.js'
import { preview } from './request-body.js'

const INT64_TEXT = /^-?\d{1,19}$/
const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1

/**
 * Turns request-data values that arrived as JSON into the values on-demand functions are written
 * for, by each field's declared type (Feast converts request data the same way): Int64 from a
 * number or a string of digits, bytes from base64, times from RFC 3339 or epoch seconds. A value
 * that does not fit is a 400 naming the column and row, never an exception inside a function.
 */
export function coerceRequestData(fields: readonly FieldSpec[], input: EntityColumns): EntityColumns {
  const columns = new Map(input.columns)
  for (const field of fields) {
    const col = columns.get(field.name)
    if (col === undefined) continue
    const type = field.valueType as ValueTypeCode
    const out = new Array<unknown>(col.length)
    for (let r = 0; r < col.length; r++) out[r] = coerce(col[r], type, field, r)
    columns.set(field.name, out)
  }
  return { names: input.names, columns, rowCount: input.rowCount }
}

function coerce(v: unknown, type: ValueTypeCode, field: FieldSpec, row: number): unknown {
  if (v === null) return null
  const element = ELEMENT_OF[type]
  if (element !== undefined) {
    if (!Array.isArray(v)) throw invalid(field, row, v, `a list of ${valueTypeName(element)}`)
    return v.map((x) => (x === null ? null : coerce(x, element, field, row)))
  }
  switch (type) {
    case ValueType.INT32:
      if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return v
      throw invalid(field, row, v, 'an integer within Int32')
    case ValueType.INT64:
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v
      if (typeof v === 'string' && INT64_TEXT.test(v)) {
        const n = BigInt(v)
        if (n >= -(2n ** 63n) && n < 2n ** 63n) return Number.isSafeInteger(Number(n)) ? Number(n) : n
      }
      throw invalid(field, row, v, 'an integer (beyond ±2^53, a string of digits)')
    case ValueType.FLOAT:
    case ValueType.DOUBLE:
      if (typeof v === 'number') return v
      throw invalid(field, row, v, 'a number')
    case ValueType.STRING:
      if (typeof v === 'string') return v
      throw invalid(field, row, v, 'a string')
    case ValueType.BOOL:
      if (typeof v === 'boolean') return v
      throw invalid(field, row, v, 'true or false')
    case ValueType.BYTES:
      if (typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return new Uint8Array(Buffer.from(v, 'base64'))
      throw invalid(field, row, v, 'base64 text')
    case ValueType.UNIX_TIMESTAMP: {
      if (typeof v === 'number' && Number.isFinite(v)) return new Date(checkEpochSeconds(v, `Request field '${field.name}' in row ${row}`) * 1000)
      const us = typeof v === 'string' ? parseDateTimeMicros(v.trim()) : undefined
      if (us !== undefined) return new Date(us / 1000)
      throw invalid(field, row, v, 'a time: RFC 3339 text or epoch seconds')
    }
    default:
      return v
  }
}

function invalid(field: FieldSpec, row: number, v: unknown, expected: string): MorselError {
  return new MorselError(
    'MORSEL_VALUE_INVALID',
    `Request field '${field.name}' (${field.dtype}) must be ${expected}; row ${row} has ${preview(v)}.`,
    { details: { field: field.name, row } },
  )
}
