import { MorselError } from '../errors/index.js'
import { LIST_OF, ValueType, type ValueTypeCode } from './value-type.js'

/**
 * A declared column type, as in Feast's `feast.types` (`Int64`, `String`, `Array(Float32)` …).
 * `T` is the TypeScript type of a value of this column; it exists only at compile time.
 */
export interface DType<T = unknown> {
  /** Feast's name for the type, e.g. `Int64` or `Array(Float32)`. */
  readonly name: string
  readonly valueType: ValueTypeCode
  /** Phantom: never set, only carries `T`. */
  readonly __value?: T
}

type ScalarDType<T> = DType<T> & { readonly element?: undefined }
export type ArrayDType<T> = DType<T[]> & { readonly element: DType<T> }

function scalar<T>(name: string, valueType: ValueTypeCode): ScalarDType<T> {
  return Object.freeze({ name, valueType })
}

const Bytes = scalar<Uint8Array>('Bytes', ValueType.BYTES)
const String_ = scalar<string>('String', ValueType.STRING)
const Int32 = scalar<number>('Int32', ValueType.INT32)
/** 64-bit integers come back as JS numbers: exact up to ±2^53 (see docs/guide/values.md). */
const Int64 = scalar<number>('Int64', ValueType.INT64)
const Float32 = scalar<number>('Float32', ValueType.FLOAT)
const Float64 = scalar<number>('Float64', ValueType.DOUBLE)
const Bool = scalar<boolean>('Bool', ValueType.BOOL)
/** Stored as epoch seconds, as Feast does; read back as a Date. */
const UnixTimestamp = scalar<Date>('UnixTimestamp', ValueType.UNIX_TIMESTAMP)

const arrays = new Map<ValueTypeCode, ArrayDType<unknown>>()

function Array_<T>(element: DType<T>): ArrayDType<T> {
  if (!isDType(element)) {
    throw new MorselError(
      'MORSEL_DEFINITION_INVALID',
      `types.Array(...) takes a scalar type such as types.String or types.Int64; got ${describeArg(element)}.`,
    )
  }
  const listType = LIST_OF[element.valueType]
  if (listType === undefined) {
    throw new MorselError(
      'MORSEL_DEFINITION_INVALID',
      `types.Array(${element.name}) is not a Feast type: lists hold scalars only (Feast has no nested lists). Use a scalar element type such as types.Array(types.Int64).`,
    )
  }
  let dtype = arrays.get(listType)
  if (dtype === undefined) {
    dtype = Object.freeze({ name: `Array(${element.name})`, valueType: listType, element })
    arrays.set(listType, dtype)
  }
  return dtype as ArrayDType<T>
}

/**
 * The column types of feature schemas. Named as Feast names them; kept in one object so that
 * `String` and `Array` do not shadow the JavaScript globals in definition files.
 *
 * @example
 * import { types } from 'morsel'
 * const schema = { city: types.String, population: types.Int64, tags: types.Array(types.String) }
 */
export const types = Object.freeze({
  Bytes,
  String: String_,
  Int32,
  Int64,
  Float32,
  Float64,
  Bool,
  UnixTimestamp,
  Array: Array_,
})

export type ValueOf<D> = D extends DType<infer T> ? T : never

const BY_NAME = new Map<string, DType>([
  ...[Bytes, String_, Int32, Int64, Float32, Float64, Bool, UnixTimestamp].map((d) => [d.name, d] as const),
])

/** Parses a Feast type name (`Int64`, `Array(String)`) back into its DType; used by the registry. */
export function dtypeFromName(name: string): DType | undefined {
  const direct = BY_NAME.get(name)
  if (direct) return direct
  const m = /^Array\((\w+)\)$/.exec(name)
  if (m?.[1] === undefined) return undefined
  const element = BY_NAME.get(m[1])
  return element ? Array_(element) : undefined
}

export function isDType(x: unknown): x is DType {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as DType).name === 'string' &&
    typeof (x as DType).valueType === 'number' &&
    dtypeFromName((x as DType).name) !== undefined
  )
}

function describeArg(x: unknown): string {
  if (x === undefined || x === null) return String(x)
  if (typeof x === 'string') return `the string ${JSON.stringify(x)} (use types.${x.replace(/^Array\((.*)\)$/, '$1')}, not its name)`
  if (typeof x === 'object' && typeof (x as { name?: unknown }).name === 'string') return `an object named ${JSON.stringify((x as { name: string }).name)} that is not one of Morsel's types`
  return typeof x
}
