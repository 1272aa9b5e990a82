import {
  DuckDBDataChunk,
  DuckDBTimestampTZValue,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  JSToDuckDBValueConverter,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type JS,
  type ToDuckDBValueConverter,
} from '@duckdb/node-api'
import { MorselError } from '../../errors/index.js'

/**
 * Values between DuckDB and Morsel's TypeScript conventions: 64-bit integers as numbers (bigints
 * only beyond 2^53), timestamps as Dates or as epoch microseconds, decimals as numbers.
 */

function micros(value: DuckDBValue, typeId: DuckDBTypeId): number {
  const v = value as unknown as Record<string, bigint>
  switch (typeId) {
    case DuckDBTypeId.TIMESTAMP_S:
      return Number(v.seconds) * 1_000_000
    case DuckDBTypeId.TIMESTAMP_MS:
      return Number(v.millis) * 1000
    case DuckDBTypeId.TIMESTAMP_NS:
      return Math.floor(Number(v.nanos) / 1000)
    case DuckDBTypeId.DATE:
      return Number((value as unknown as { days: number }).days) * 86_400_000_000
    default:
      return Number(v.micros)
  }
}

function isTimestampId(id: DuckDBTypeId): boolean {
  return (
    id === DuckDBTypeId.TIMESTAMP ||
    id === DuckDBTypeId.TIMESTAMP_TZ ||
    id === DuckDBTypeId.TIMESTAMP_S ||
    id === DuckDBTypeId.TIMESTAMP_MS ||
    id === DuckDBTypeId.TIMESTAMP_NS ||
    id === DuckDBTypeId.DATE
  )
}

function converter(timestamps: 'date' | 'micros'): DuckDBValueConverter<unknown> {
  const self: DuckDBValueConverter<unknown> = (value, type, nested) => {
    if (value === null) return null
    const id = type.typeId
    if (id === DuckDBTypeId.BIGINT || id === DuckDBTypeId.HUGEINT || id === DuckDBTypeId.UBIGINT || id === DuckDBTypeId.UHUGEINT) {
      const n = value as bigint
      return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n
    }
    if (isTimestampId(id)) {
      const us = micros(value, id)
      // Floor: a time before 1970 with a fraction of a millisecond belongs to the earlier millisecond.
      return timestamps === 'micros' ? us : new Date(Math.floor(us / 1000))
    }
    return JSDuckDBValueConverter(value, type, nested as DuckDBValueConverter<JS>)
  }
  return self
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

export const toJsDates: DuckDBValueConverter<unknown> = converter('date')
export const toJsMicros: DuckDBValueConverter<unknown> = converter('micros')

/**
 * JS values into DuckDB values. Timestamps may be Dates or numbers of epoch microseconds (the form
 * the core normalises entity times to); integers may be numbers or bigints.
 */
export const fromJs: ToDuckDBValueConverter<unknown> = (value, type, nested) => {
  if (value === null || value === undefined) return null
  if (type.typeId === DuckDBTypeId.TIMESTAMP_TZ && typeof value === 'number') return new DuckDBTimestampTZValue(BigInt(value))
  if (type.typeId === DuckDBTypeId.TIMESTAMP_TZ && value instanceof Date) return new DuckDBTimestampTZValue(BigInt(value.getTime()) * 1000n)
  return JSToDuckDBValueConverter(value as JS, type, nested as ToDuckDBValueConverter<JS>)
}

/** Rows of columns (one array per type) as DuckDB data chunks of at most `size` rows. */
export function* dataChunks(types: readonly DuckDBType[], columns: ReadonlyArray<readonly unknown[]>, rowCount: number, size = 2048): Generator<DuckDBDataChunk> {
  for (let start = 0; start < rowCount; start += size) {
    const n = Math.min(size, rowCount - start)
    const chunk = DuckDBDataChunk.create(types, n)
    try {
      chunk.setColumnsConverted(
        columns.map((c) => (start === 0 && n === c.length ? c : c.slice(start, start + n))),
        fromJs,
      )
    } catch (err) {
      throw new MorselError('MORSEL_VALUE_INVALID', `A value in rows ${start}–${start + n - 1} does not fit its column's type: ${(err as Error).message}.`, { cause: err })
    }
    yield chunk
  }
}

/**
 * Copies rows `[from, from + count)` of one column of a chunk into `into`, starting at `offset`,
 * and returns `into`.
 */
export type ColumnReader = (chunk: DuckDBDataChunk, column: number, into: unknown[] | Float64Array, offset: number, from: number, count: number) => unknown[] | Float64Array

/** A whole column of a chunk as a new array. */
export function readColumn(read: ColumnReader, chunk: DuckDBDataChunk, column: number): unknown[] {
  const n = chunk.rowCount
  return read(chunk, column, new Array<unknown>(n), 0, 0, n) as unknown[]
}

/**
 * Column readers chosen once per result from the column types: primitives are copied as they
 * come, 64-bit integers narrowed to numbers where exact, timestamps turned into Dates or epoch
 * microseconds; only nested and rare types go through the generic per-value converter.
 */
export function columnReaders(types: readonly DuckDBType[], timestamps: 'date' | 'micros'): ColumnReader[] {
  const generic = timestamps === 'micros' ? toJsMicros : toJsDates
  return types.map((type): ColumnReader => {
    switch (type.typeId) {
      case DuckDBTypeId.BOOLEAN:
      case DuckDBTypeId.TINYINT:
      case DuckDBTypeId.SMALLINT:
      case DuckDBTypeId.INTEGER:
      case DuckDBTypeId.UTINYINT:
      case DuckDBTypeId.USMALLINT:
      case DuckDBTypeId.UINTEGER:
      case DuckDBTypeId.FLOAT:
      case DuckDBTypeId.DOUBLE:
      case DuckDBTypeId.VARCHAR:
        return (chunk, c, into, offset, from, count) => {
          const v = chunk.getColumnVector(c)
          for (let r = 0; r < count; r++) into[offset + r] = v.getItem(from + r)
          return into
        }
      case DuckDBTypeId.BIGINT:
      case DuckDBTypeId.HUGEINT:
      case DuckDBTypeId.UBIGINT:
      case DuckDBTypeId.UHUGEINT:
        return (chunk, c, into, offset, from, count) => {
          const v = chunk.getColumnVector(c)
          for (let r = 0; r < count; r++) {
            const x = v.getItem(from + r) as bigint | null
            into[offset + r] = (x === null ? null : x >= MIN_SAFE && x <= MAX_SAFE ? Number(x) : x)
          }
          return into
        }
      case DuckDBTypeId.TIMESTAMP:
      case DuckDBTypeId.TIMESTAMP_TZ:
        return (chunk, c, into, offset, from, count) => {
          const v = chunk.getColumnVector(c)
          for (let r = 0; r < count; r++) {
            const x = v.getItem(from + r) as { micros: bigint } | null
            if (x === null) into[offset + r] = null
            else {
              const us = Number(x.micros)
              // Floor: a time before 1970 with a fraction of a millisecond belongs to the earlier millisecond.
              into[offset + r] = (timestamps === 'micros' ? us : new Date(Math.floor(us / 1000)))
            }
          }
          return into
        }
      default:
        return (chunk, c, into, offset, from, count) => {
          const all = chunk.convertColumnValues(c, generic)
          for (let r = 0; r < count; r++) into[offset + r] = all[from + r]
          return into
        }
    }
  })
}
