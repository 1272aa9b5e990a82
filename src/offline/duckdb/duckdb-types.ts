import { MorselError } from '../../errors/index.js'
import { ELEMENT_OF, LIST_OF, ValueType, valueTypeName, type ValueTypeCode } from '../../types/value-type.js'

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

/** The Feast value type a DuckDB column type holds, or null (structs, maps, nested lists …). */
export function duckdbTypeToValueType(sqlType: string): ValueTypeCode | null {
  const t = sqlType.trim().toUpperCase()
  const list = /^(.*)\[\]$/.exec(t)
  if (list?.[1] !== undefined) {
    const el = duckdbTypeToValueType(list[1])
    return el === null ? null : (LIST_OF[el] ?? null)
  }
  for (const [re, vt] of SCALARS) if (re.test(t)) return vt
  return null
}

export function isTimestampType(sqlType: string): boolean {
  return /^(TIMESTAMP.*|DATETIME|DATE)$/i.test(sqlType.trim())
}

const DUCKDB_TYPE_OF: Partial<Record<number, string>> = {
  [ValueType.BYTES]: 'BLOB',
  [ValueType.STRING]: 'VARCHAR',
  [ValueType.INT32]: 'INTEGER',
  [ValueType.INT64]: 'BIGINT',
  [ValueType.DOUBLE]: 'DOUBLE',
  [ValueType.FLOAT]: 'FLOAT',
  [ValueType.BOOL]: 'BOOLEAN',
  [ValueType.UNIX_TIMESTAMP]: 'TIMESTAMPTZ',
}

/** The DuckDB type that holds a Feast value type; lists become `T[]`. */
export function valueTypeToDuckdbType(valueType: ValueTypeCode): string {
  const scalar = DUCKDB_TYPE_OF[valueType]
  if (scalar !== undefined) return scalar
  const elementType = ELEMENT_OF[valueType]
  const element = elementType === undefined ? undefined : DUCKDB_TYPE_OF[elementType]
  if (element !== undefined) return `${element}[]`
  throw new MorselError('MORSEL_UNSUPPORTED', `Values of type ${valueTypeName(valueType)} cannot be stored in DuckDB by Morsel.`)
}
