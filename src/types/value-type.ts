/**
 * Feast's value types: the `ValueType` enum numbers (`protos/feast/types/Value.proto`), which are also
 * the field numbers of the `Value` oneof, and the TypeScript shape each one takes in Morsel.
 */
export const ValueType = {
  UNKNOWN: 0,
  BYTES: 1,
  STRING: 2,
  INT32: 3,
  INT64: 4,
  DOUBLE: 5,
  FLOAT: 6,
  BOOL: 7,
  UNIX_TIMESTAMP: 8,
  BYTES_LIST: 11,
  STRING_LIST: 12,
  INT32_LIST: 13,
  INT64_LIST: 14,
  DOUBLE_LIST: 15,
  FLOAT_LIST: 16,
  BOOL_LIST: 17,
  UNIX_TIMESTAMP_LIST: 18,
  NULL: 19,
} as const

export type ValueTypeName = keyof typeof ValueType
export type ValueTypeCode = (typeof ValueType)[ValueTypeName]

const NAME_BY_CODE = new Map<number, ValueTypeName>(
  (Object.entries(ValueType) as Array<[ValueTypeName, number]>).map(([name, code]) => [code, name]),
)

export function valueTypeName(code: number): string {
  return NAME_BY_CODE.get(code) ?? `UNKNOWN(${code})`
}

/** A feature value as Morsel hands it to TypeScript. `null` is an explicit null. */
export type FeatureValue = string | number | boolean | Uint8Array | Date | null | readonly FeatureScalar[]
export type FeatureScalar = string | number | boolean | Uint8Array | Date

/** The scalar types a list can hold, and the list type that holds each. */
export const LIST_OF: Partial<Record<ValueTypeCode, ValueTypeCode>> = {
  [ValueType.BYTES]: ValueType.BYTES_LIST,
  [ValueType.STRING]: ValueType.STRING_LIST,
  [ValueType.INT32]: ValueType.INT32_LIST,
  [ValueType.INT64]: ValueType.INT64_LIST,
  [ValueType.DOUBLE]: ValueType.DOUBLE_LIST,
  [ValueType.FLOAT]: ValueType.FLOAT_LIST,
  [ValueType.BOOL]: ValueType.BOOL_LIST,
  [ValueType.UNIX_TIMESTAMP]: ValueType.UNIX_TIMESTAMP_LIST,
}

/** Element type of a list type; undefined for scalars. */
export const ELEMENT_OF: Partial<Record<ValueTypeCode, ValueTypeCode>> = Object.fromEntries(
  Object.entries(LIST_OF).map(([scalar, list]) => [list, Number(scalar)]),
)

/** Types allowed as entity join-key values (Feast's `_serialize_val`). */
export const ENTITY_KEY_VALUE_TYPES: readonly ValueTypeCode[] = [
  ValueType.BYTES,
  ValueType.STRING,
  ValueType.INT32,
  ValueType.INT64,
  ValueType.UNIX_TIMESTAMP,
]
