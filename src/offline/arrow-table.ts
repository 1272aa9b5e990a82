import {
  Binary,
  Bool,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  Table,
  TimestampMicrosecond,
  Utf8,
  makeBuilder,
  makeData,
  makeVector,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow'
import { MorselError } from '../errors/index.js'
import { ELEMENT_OF, ValueType, valueTypeName, type ValueTypeCode } from '../types/value-type.js'
import type { ResultColumn } from './offline-store.js'

/**
 * A result as an Arrow table, typed from the registry's value types. Timestamp columns arrive as
 * epoch microseconds and are stored as microsecond timestamps (UTC), so no precision is lost;
 * 64-bit integers are Int64.
 */
export function toArrowTable(columns: readonly ResultColumn[], data: ReadonlyMap<string, readonly unknown[]>, rowCount: number): Table {
  const vectors: Record<string, Vector> = {}
  for (const c of columns) vectors[c.name] = toVector(c, data.get(c.name) ?? [], rowCount)
  return new Table(vectors)
}

function toVector(column: ResultColumn, values: readonly unknown[], rowCount: number): Vector {
  const vt = column.valueType
  if (vt === null) {
    try {
      return vectorFromArray(values as unknown[])
    } catch (err) {
      throw new MorselError('MORSEL_UNSUPPORTED', `Column '${column.name}' (${column.sourceType}) has no Arrow form in Morsel: ${(err as Error).message}`, { cause: err })
    }
  }
  if (vt === ValueType.INT64) return bigIntVector(new Int64(), values, rowCount, (v) => (typeof v === 'bigint' ? v : BigInt(v as number)))
  if (vt === ValueType.UNIX_TIMESTAMP) return bigIntVector(new TimestampMicrosecond(/TIME ZONE|TZ/i.test(column.sourceType) ? 'UTC' : null), values, rowCount, (v) => BigInt(toMicros(v)))
  const type = arrowType(vt, column.name)
  const element = ELEMENT_OF[vt]
  const builder = makeBuilder({ type, nullValues: [null, undefined] })
  for (let i = 0; i < rowCount; i++) {
    const v = values[i]
    // Timestamps inside lists go through Arrow's builder, which takes Dates.
    builder.append(element === ValueType.UNIX_TIMESTAMP && Array.isArray(v) ? v.map((x) => new Date(Math.floor(toMicros(x) / 1000))) : v)
  }
  return builder.finish().toVector()
}

function toMicros(v: unknown): number {
  return v instanceof Date ? v.getTime() * 1000 : (v as number)
}

function bigIntVector<T extends Int64 | TimestampMicrosecond>(type: T, values: readonly unknown[], rowCount: number, convert: (v: unknown) => bigint): Vector<T> {
  const data = new BigInt64Array(rowCount)
  const nullBitmap = new Uint8Array((rowCount + 7) >> 3)
  let nullCount = 0
  for (let i = 0; i < rowCount; i++) {
    const v = values[i]
    if (v === null || v === undefined) {
      nullCount++
      continue
    }
    data[i] = convert(v)
    nullBitmap[i >> 3]! |= 1 << (i & 7)
  }
  return makeVector(makeData({ type, length: rowCount, nullCount, nullBitmap, data } as never)) as unknown as Vector<T>
}

function arrowType(vt: ValueTypeCode, name: string): DataType {
  switch (vt) {
    case ValueType.INT32:
      return new Int32()
    case ValueType.INT64:
      return new Int64()
    case ValueType.DOUBLE:
      return new Float64()
    case ValueType.FLOAT:
      return new Float32()
    case ValueType.STRING:
      return new Utf8()
    case ValueType.BOOL:
      return new Bool()
    case ValueType.BYTES:
      return new Binary()
    case ValueType.UNIX_TIMESTAMP:
      return new TimestampMicrosecond('UTC')
    default: {
      const element = ELEMENT_OF[vt]
      if (element !== undefined) return new List(new Field('item', arrowType(element, name), true))
      throw new MorselError('MORSEL_UNSUPPORTED', `Column '${name}' has type ${valueTypeName(vt)}, which Morsel does not convert to Arrow.`)
    }
  }
}
