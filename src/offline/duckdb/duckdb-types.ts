import { ValueType, type ValueTypeCode } from '../../types/value-type.js'

const SCALARS: ReadonlyArray<[RegExp, ValueTypeCode]> = [
  [/^(BIGINT|INT8|LONG|HUGEINT|UBIGINT|UINTEGER)$/, ValueType.INT64],
  [/^(INTEGER|INT4|INT|SIGNED|SMALLINT|INT2|SHORT|TINYINT|INT1|USMALLINT|UTINYINT)$/, ValueType.INT32],
  [/^(DOUBLE|FLOAT8|DECIMAL.*|NUMERIC.*)$/, ValueType.DOUBLE],
  [/^(FLOAT|FLOAT4|REAL)$/, ValueType.FLOAT],
  [/^(VARCHAR|CHAR|BPCHAR|TEXT|STRING|UUID|JSON)$/, ValueType.STRING],
  [/^(BOOLEAN|BOOL|LOGICAL)$/, ValueType.BOOL],
  [/^(BLOB|BYTEA|BINARY|VARBINARY)$/, ValueType.BYTES],
  [/^(TIMESTAMP.*|DATETIME|DATE)$/, ValueType.UNIX_TIMESTAMP],
]

const LISTS: Partial<Record<number, ValueTypeCode>> = {
  [ValueType.INT64]: ValueType.INT64_LIST,
  [ValueType.INT32]: ValueType.INT32_LIST,
  [ValueType.DOUBLE]: ValueType.DOUBLE_LIST,
  [ValueType.FLOAT]: ValueType.FLOAT_LIST,
  [ValueType.STRING]: ValueType.STRING_LIST,
  [ValueType.BOOL]: ValueType.BOOL_LIST,
  [ValueType.BYTES]: ValueType.BYTES_LIST,
  [ValueType.UNIX_TIMESTAMP]: ValueType.UNIX_TIMESTAMP_LIST,
}

/** The Feast value type a DuckDB column type holds, or null (structs, maps, nested lists …). */
export function duckdbTypeToValueType(sqlType: string): ValueTypeCode | null {
  const t = sqlType.trim().toUpperCase()
  const list = /^(.*)\[\]$/.exec(t)
  if (list?.[1] !== undefined) {
    const el = duckdbTypeToValueType(list[1])
    return el === null ? null : (LISTS[el] ?? null)
  }
  for (const [re, vt] of SCALARS) if (re.test(t)) return vt
  return null
}

export function isTimestampType(sqlType: string): boolean {
  return /^(TIMESTAMP.*|DATETIME|DATE)$/i.test(sqlType.trim())
}
