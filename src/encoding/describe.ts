import { types } from '../types/dtypes.js'
import { ELEMENT_OF, ValueType, valueTypeName } from '../types/value-type.js'

// Error messages speak the names users write in their definitions (`Int64`, `Array(String)`),
// not the protobuf enum names.
const DTYPE_NAMES = new Map<number, string>()
for (const dtype of Object.values(types)) {
  if (typeof dtype === 'object') DTYPE_NAMES.set(dtype.valueType, dtype.name)
}
for (const [list, element] of Object.entries(ELEMENT_OF)) {
  DTYPE_NAMES.set(Number(list), `Array(${DTYPE_NAMES.get(element) ?? valueTypeName(element)})`)
}

export function dtypeName(code: number): string {
  return DTYPE_NAMES.get(code) ?? valueTypeName(code)
}

const SCALAR_FORMS: ReadonlyMap<number, string> = new Map([
  [ValueType.BYTES, 'a Uint8Array or Buffer'],
  [ValueType.STRING, 'a string'],
  [ValueType.INT32, 'an integer from -2147483648 to 2147483647'],
  [ValueType.INT64, 'a safe integer number, a bigint, or a string of decimal digits'],
  [ValueType.DOUBLE, 'a number'],
  [ValueType.FLOAT, 'a number'],
  [ValueType.BOOL, 'true or false'],
  [ValueType.UNIX_TIMESTAMP, 'a Date or an integer number of epoch seconds'],
])

/** What a value of the type must look like in JavaScript, for "expected …" in messages. */
export function expectedForm(code: number): string {
  const element = ELEMENT_OF[code as keyof typeof ELEMENT_OF]
  if (element !== undefined) return `an array whose items are each ${SCALAR_FORMS.get(element) ?? dtypeName(element)}`
  return SCALAR_FORMS.get(code) ?? `a value of type ${dtypeName(code)}`
}

const MAX_SHOWN = 60

function clip(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}…(${text.length} chars)`
}

/** A short, safe rendering of a received value: bounded in length, never throws. */
export function describeReceived(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined'
    case 'string':
      return `${clip(JSON.stringify(value))} (string)`
    case 'number':
      return `${String(value)} (number)`
    case 'bigint':
      return `${clip(value.toString())}n (bigint)`
    case 'boolean':
      return `${String(value)} (boolean)`
    case 'symbol':
      return 'a symbol'
    case 'function':
      return 'a function'
    case 'object':
      break
  }
  if (value === null) return 'null'
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : `Date ${value.toISOString()}`
  if (value instanceof Uint8Array) return `${value.length} bytes (${value.constructor.name})`
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`
  try {
    const json = JSON.stringify(value)
    return `${clip(json)} (object)`
  } catch {
    return 'an object'
  }
}

/** Position of the first unpaired UTF-16 surrogate, or -1. Only called on the error path. */
export function loneSurrogateIndex(text: string): number {
  const match = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.exec(text)
  return match === null ? -1 : match.index
}

interface WellFormedString {
  isWellFormed(): boolean
}

/**
 * UTF-8 cannot carry unpaired surrogates; Node would silently write U+FFFD instead, so two
 * different strings could map to the same bytes (and the same entity key).
 */
export function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormedString).isWellFormed()
}
