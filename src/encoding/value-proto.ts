import { Buffer } from 'node:buffer'
import { MorselError } from '../errors/index.js'
import {
  ELEMENT_OF,
  ValueType,
  type FeatureScalar,
  type FeatureValue,
  type ValueTypeCode,
} from '../types/value-type.js'
import { describeReceived, dtypeName, expectedForm, isWellFormed, loneSurrogateIndex } from './describe.js'
import {
  WIRE_I32,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  asInt64,
  int64Problem,
  int64ToNumber,
  invalidWire,
  readVarint,
  scratch,
  skipField,
  splitBigInt,
  splitSafeInteger,
  varintSize32,
  varintSize64,
  writeVarint32,
  writeVarint64,
} from './wire.js'

/**
 * `feast.types.Value` (`protos/feast/types/Value.proto`), hand-written: decoding runs for every
 * feature of every online request, and a generic protobuf runtime costs an object graph per value.
 * Encoding matches Python's `Value.SerializeToString()` byte for byte.
 */

/** A null feature: Feast writes `Value()` with no field set, i.e. zero bytes. */
export const NULL_VALUE_BYTES: Buffer = Buffer.alloc(0)

const FIELD_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'bytes_val'],
  [2, 'string_val'],
  [3, 'int32_val'],
  [4, 'int64_val'],
  [5, 'double_val'],
  [6, 'float_val'],
  [7, 'bool_val'],
  [8, 'unix_timestamp_val'],
  [11, 'bytes_list_val'],
  [12, 'string_list_val'],
  [13, 'int32_list_val'],
  [14, 'int64_list_val'],
  [15, 'double_list_val'],
  [16, 'float_list_val'],
  [17, 'bool_list_val'],
  [18, 'unix_timestamp_list_val'],
  [19, 'null_val'],
  [20, 'map_val'],
  [21, 'map_list_val'],
  [22, 'bytes_set_val'],
  [23, 'string_set_val'],
  [24, 'int32_set_val'],
  [25, 'int64_set_val'],
  [26, 'double_set_val'],
  [27, 'float_set_val'],
  [28, 'bool_set_val'],
  [29, 'unix_timestamp_set_val'],
  [32, 'json_val'],
  [33, 'json_list_val'],
  [34, 'struct_val'],
  [35, 'struct_list_val'],
  [36, 'uuid_val'],
  [37, 'time_uuid_val'],
  [38, 'uuid_list_val'],
  [39, 'time_uuid_list_val'],
  [40, 'uuid_set_val'],
  [41, 'time_uuid_set_val'],
  [42, 'list_val'],
  [43, 'set_val'],
  [44, 'decimal_val'],
  [45, 'decimal_list_val'],
  [46, 'decimal_set_val'],
  [47, 'scalar_map_val'],
  [48, 'zoned_timestamp_val'],
])

/** Feast type names of the oneof members Morsel cannot represent, for MORSEL_UNSUPPORTED messages. */
const UNSUPPORTED_TYPES: ReadonlyMap<number, string> = new Map([
  [20, 'Map'],
  [21, 'Array(Map)'],
  [34, 'Struct'],
  [35, 'Array(Struct)'],
  [42, 'nested Array'],
  [43, 'nested Set'],
  [47, 'Map with scalar keys'],
  [48, 'ZonedTimestamp'],
])

/** The protobuf name of a `Value` oneof field (`int64_val`), or `field <n>` for numbers Feast does not define. */
export function valueFieldName(field: number): string {
  return FIELD_NAMES.get(field) ?? `field ${field}`
}

// Feast's NULL_TIMESTAMP_INT_VALUE (pandas NaT) is INT64_MIN: high half 0x80000000, low half 0.
const NAT_HIGH = 0x80000000
const MAX_DATE_SECONDS = 8.64e12
const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

// ---------------------------------------------------------------------------------------------
// Encoding

function valueError(
  context: string | undefined,
  declared: number,
  value: unknown,
  problem: string | undefined,
  index?: number,
): MorselError {
  const subject = context === undefined ? 'A value' : `Feature '${context}'`
  const element = ELEMENT_OF[declared as ValueTypeCode]
  const received = describeReceived(value)
  const what = index === undefined ? `got ${received}` : `element [${index}] is ${received}`
  let advice = problem
  if (advice === undefined) {
    if (index !== undefined && value == null) {
      advice = 'lists cannot hold nulls; drop the element, or send null for the whole list'
    } else {
      advice = `send ${expectedForm(index === undefined || element === undefined ? declared : element)}`
    }
  }
  const message = `${subject} is declared ${dtypeName(declared)}, but ${what}: ${advice}.`
  return new MorselError('MORSEL_VALUE_INVALID', message, {
    details: {
      ...(context === undefined ? {} : { feature: context }),
      expected: dtypeName(declared),
      received,
      ...(index === undefined ? {} : { index }),
    },
  })
}

function surrogateProblem(text: string): string {
  return (
    `it has an unpaired UTF-16 surrogate at index ${loneSurrogateIndex(text)}, which UTF-8 cannot represent ` +
    '(was the string cut inside an emoji?)'
  )
}

function int32Problem(value: unknown): string | undefined {
  if (typeof value !== 'number') return undefined
  if (!Number.isInteger(value)) return 'it is not an integer'
  return 'it is outside the Int32 range; declare the feature Int64 if it can be this large'
}

function isInt32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX
}

/** Epoch seconds of a timestamp value, or undefined if it is not one. */
function timestampSeconds(value: unknown): number | undefined {
  if (value instanceof Date) {
    const ms = value.getTime()
    // Floor, not truncate: a time before 1970 with a fraction belongs to the earlier second.
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
  }
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined
}

function timestampProblem(value: unknown): string | undefined {
  if (value instanceof Date) return 'the Date is invalid'
  if (typeof value === 'number') return 'epoch seconds must be a safe integer (use Math.floor)'
  return undefined
}

/** Sets scratch.lo/hi to the two's-complement halves of an int32 (negatives become 10-byte varints). */
function splitInt32(n: number): void {
  scratch.lo = n >>> 0
  scratch.hi = n < 0 ? 0xffffffff : 0
}

function splitInt64(n: number | bigint): void {
  if (typeof n === 'number') splitSafeInteger(n)
  else splitBigInt(n)
}

function varintValue(tag: number): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize64(scratch.lo, scratch.hi))
  out[0] = tag
  writeVarint64(out, 1, scratch.lo, scratch.hi)
  return out
}

/**
 * Serializes one feature value as `Value.SerializeToString()` would. `null`/`undefined` give
 * zero bytes (Feast stores nulls as an empty Value). `context` (`view:feature`) names the
 * feature in error messages.
 */
export function encodeValue(value: unknown, valueType: ValueTypeCode, context?: string): Buffer {
  if (value === null || value === undefined) return NULL_VALUE_BYTES
  switch (valueType) {
    case ValueType.BYTES: {
      if (!(value instanceof Uint8Array)) throw valueError(context, valueType, value, undefined)
      const n = value.length
      const out = Buffer.allocUnsafe(1 + varintSize32(n) + n)
      out[0] = 0x0a
      out.set(value, writeVarint32(out, 1, n))
      return out
    }
    case ValueType.STRING: {
      if (typeof value !== 'string') throw valueError(context, valueType, value, undefined)
      if (!isWellFormed(value)) throw valueError(context, valueType, value, surrogateProblem(value))
      const n = Buffer.byteLength(value, 'utf8')
      const out = Buffer.allocUnsafe(1 + varintSize32(n) + n)
      out[0] = 0x12
      out.write(value, writeVarint32(out, 1, n), n, 'utf8')
      return out
    }
    case ValueType.INT32:
      if (!isInt32(value)) throw valueError(context, valueType, value, int32Problem(value))
      splitInt32(value)
      return varintValue(0x18)
    case ValueType.INT64: {
      const n = asInt64(value)
      if (n === undefined) throw valueError(context, valueType, value, int64Problem(value))
      splitInt64(n)
      return varintValue(0x20)
    }
    case ValueType.DOUBLE: {
      if (typeof value !== 'number') throw valueError(context, valueType, value, undefined)
      const out = Buffer.allocUnsafe(9)
      out[0] = 0x29
      out.writeDoubleLE(value, 1)
      return out
    }
    case ValueType.FLOAT: {
      if (typeof value !== 'number') throw valueError(context, valueType, value, undefined)
      const out = Buffer.allocUnsafe(5)
      out[0] = 0x35
      // Rounds to the nearest float32 (Math.fround); beyond ±3.4e38 that is ±Infinity, as in Python.
      out.writeFloatLE(value, 1)
      return out
    }
    case ValueType.BOOL: {
      if (typeof value !== 'boolean') throw valueError(context, valueType, value, undefined)
      const out = Buffer.allocUnsafe(2)
      out[0] = 0x38
      out[1] = value ? 1 : 0
      return out
    }
    case ValueType.UNIX_TIMESTAMP: {
      const seconds = timestampSeconds(value)
      if (seconds === undefined) throw valueError(context, valueType, value, timestampProblem(value))
      splitSafeInteger(seconds)
      return varintValue(0x40)
    }
    case ValueType.BYTES_LIST:
    case ValueType.STRING_LIST:
    case ValueType.INT32_LIST:
    case ValueType.INT64_LIST:
    case ValueType.DOUBLE_LIST:
    case ValueType.FLOAT_LIST:
    case ValueType.BOOL_LIST:
    case ValueType.UNIX_TIMESTAMP_LIST:
      return encodeList(value, valueType, context)
    case ValueType.NULL:
    case ValueType.UNKNOWN:
      throw valueError(
        context,
        valueType,
        value,
        `a feature of type ${dtypeName(valueType)} can only be null; give the feature a concrete type`,
      )
    default: // everything else takes the general walk
      throw valueError(context, valueType, value, `type code ${String(valueType)} is not a type Morsel writes`)
  }
}

function encodeList(value: unknown, listType: ValueTypeCode, context: string | undefined): Buffer {
  if (!Array.isArray(value)) throw valueError(context, listType, value, undefined)
  const items = value as readonly unknown[]
  const element: number = listType - 10
  const count = items.length
  // Pass 1 validates and sizes; pass 2 writes into one exactly-sized buffer.
  let payload = 0
  let halves: Uint32Array | undefined
  let lengths: Uint32Array | undefined
  switch (element) {
    case ValueType.STRING:
      lengths = new Uint32Array(count)
      for (let i = 0; i < count; i++) {
        const item = items[i]
        if (typeof item !== 'string') throw valueError(context, listType, item, undefined, i)
        if (!isWellFormed(item)) throw valueError(context, listType, item, surrogateProblem(item), i)
        const n = Buffer.byteLength(item, 'utf8')
        lengths[i] = n
        payload += 1 + varintSize32(n) + n
      }
      break
    case ValueType.BYTES:
      for (let i = 0; i < count; i++) {
        const item = items[i]
        if (!(item instanceof Uint8Array)) throw valueError(context, listType, item, undefined, i)
        payload += 1 + varintSize32(item.length) + item.length
      }
      break
    case ValueType.INT32:
    case ValueType.INT64:
    case ValueType.UNIX_TIMESTAMP:
      halves = new Uint32Array(2 * count)
      for (let i = 0; i < count; i++) {
        const item = items[i]
        if (element === ValueType.INT32) {
          if (!isInt32(item)) throw valueError(context, listType, item, int32Problem(item), i)
          splitInt32(item)
        } else if (element === ValueType.INT64) {
          const n = asInt64(item)
          if (n === undefined) {
            throw valueError(context, listType, item, item == null ? undefined : int64Problem(item), i)
          }
          splitInt64(n)
        } else {
          const seconds = timestampSeconds(item)
          if (seconds === undefined) throw valueError(context, listType, item, timestampProblem(item), i)
          splitSafeInteger(seconds)
        }
        halves[2 * i] = scratch.lo
        halves[2 * i + 1] = scratch.hi
        payload += varintSize64(scratch.lo, scratch.hi)
      }
      break
    case ValueType.DOUBLE:
    case ValueType.FLOAT:
      for (let i = 0; i < count; i++) {
        if (typeof items[i] !== 'number') throw valueError(context, listType, items[i], undefined, i)
      }
      payload = count * (element === ValueType.DOUBLE ? 8 : 4)
      break
    case ValueType.BOOL:
      for (let i = 0; i < count; i++) {
        if (typeof items[i] !== 'boolean') throw valueError(context, listType, items[i], undefined, i)
      }
      payload = count
      break
    default: // everything else takes the general walk
      throw new MorselError('MORSEL_INTERNAL', `encodeList called with ${dtypeName(listType)}.`)
  }

  // proto3 packs repeated scalars into one field-1 record, omitted when empty; strings and bytes
  // are one field-1 record each.
  const packed = element !== ValueType.STRING && element !== ValueType.BYTES
  const content = packed ? (count === 0 ? 0 : 1 + varintSize32(payload) + payload) : payload
  const tag = (listType << 3) | WIRE_LEN
  const out = Buffer.allocUnsafe(varintSize32(tag) + varintSize32(content) + content)
  let pos = writeVarint32(out, 0, tag)
  pos = writeVarint32(out, pos, content)
  if (packed && count > 0) {
    out[pos++] = 0x0a
    pos = writeVarint32(out, pos, payload)
  }
  switch (element) {
    case ValueType.STRING:
      for (let i = 0; i < count; i++) {
        const n = lengths![i]!
        out[pos++] = 0x0a
        pos = writeVarint32(out, pos, n)
        pos += out.write(items[i] as string, pos, n, 'utf8')
      }
      break
    case ValueType.BYTES:
      for (let i = 0; i < count; i++) {
        const item = items[i] as Uint8Array
        out[pos++] = 0x0a
        pos = writeVarint32(out, pos, item.length)
        out.set(item, pos)
        pos += item.length
      }
      break
    case ValueType.DOUBLE:
      for (let i = 0; i < count; i++) pos = out.writeDoubleLE(items[i] as number, pos)
      break
    case ValueType.FLOAT:
      for (let i = 0; i < count; i++) pos = out.writeFloatLE(items[i] as number, pos)
      break
    case ValueType.BOOL:
      for (let i = 0; i < count; i++) out[pos++] = items[i] === true ? 1 : 0
      break
    case ValueType.INT32:
    case ValueType.INT64:
    case ValueType.UNIX_TIMESTAMP:
      for (let i = 0; i < count; i++) pos = writeVarint64(out, pos, halves![2 * i]!, halves![2 * i + 1]!)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Decoding

// Buffer's readDoubleLE validates its offset on every call; copying the bytes into a scratch
// double is the same work without the checks (the fast paths have checked the length).
const F64 = new Float64Array(1)
const F64_BYTES = new Uint8Array(F64.buffer)
const F32 = new Float32Array(1)
const F32_BYTES = new Uint8Array(F32.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

function readDouble(bytes: Uint8Array, at: number): number {
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) F64_BYTES[i] = bytes[at + i]!
  else for (let i = 0; i < 8; i++) F64_BYTES[7 - i] = bytes[at + i]!
  return F64[0]!
}

function readFloat(bytes: Uint8Array, at: number): number {
  if (LITTLE_ENDIAN) for (let i = 0; i < 4; i++) F32_BYTES[i] = bytes[at + i]!
  else for (let i = 0; i < 4; i++) F32_BYTES[3 - i] = bytes[at + i]!
  return F32[0]!
}

/**
 * The varint after a one-byte tag when it is at most 7 bytes (49 bits, exact in a double) and ends
 * exactly at `end`; -1 otherwise (longer, negative, truncated or followed by more fields), for the
 * general decoder to handle.
 */
function shortVarint(bytes: Uint8Array, end: number): number {
  if (end > 8) return -1
  let value = 0
  let scale = 1
  for (let pos = 1; pos < end; pos++) {
    const b = bytes[pos]!
    value += (b & 0x7f) * scale
    if (b < 0x80) return pos === end - 1 ? value : -1
    scale *= 128
  }
  return -1
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Location of the oneof member that counts: protobuf lets the last one on the wire win. */
const found = { field: 0, wire: 0, start: 0, stop: 0 }

function findLastField(buf: Buffer, end: number, context: string | undefined): void {
  let pos = 0
  while (pos < end) {
    pos = readVarint(buf, pos, end, context)
    const field = scratch.lo >>> 3
    if (scratch.hi !== 0 || field === 0) throw invalidWire('a field tag is out of range', context)
    const wire = scratch.lo & 7
    const start = pos
    pos = skipField(buf, pos, end, wire, context)
    found.field = field
    found.wire = wire
    found.start = wire === WIRE_LEN ? scratch.payloadStart : start
    found.stop = pos
  }
}

function expectWire(wire: number, expected: number, field: number, context: string | undefined): void {
  if (wire !== expected) {
    throw invalidWire(`${valueFieldName(field)} has wire type ${wire}, not ${expected}`, context)
  }
}

function timestampOf(low: number, high: number, context: string | undefined): Date | null {
  if (high === NAT_HIGH && low === 0) return null
  const seconds = int64ToNumber(low, high)
  if (Math.abs(seconds) > MAX_DATE_SECONDS) {
    const where = context === undefined ? '' : ` of '${context}'`
    throw new MorselError(
      'MORSEL_VALUE_INVALID',
      `The stored unix_timestamp_val${where} is ${seconds} seconds, outside the range a JavaScript Date can hold ` +
        '(±8.64e12 s); rewrite the value with a real timestamp (seconds, not milliseconds or nanoseconds).',
      { details: context === undefined ? { seconds } : { feature: context, seconds } },
    )
  }
  return new Date(seconds * 1000)
}

function unsupported(field: number, context: string | undefined): MorselError {
  const subject = context === undefined ? 'A stored value' : `The stored value of '${context}'`
  const feastType = UNSUPPORTED_TYPES.get(field)
  const message =
    feastType === undefined
      ? `${subject} uses Value field ${field}, which Feast's Value does not define (as of Feast 0.66); it was ` +
        'written by a newer or different system. Rewrite it with a supported type.'
      : `${subject} is a Feast ${feastType} (${valueFieldName(field)}), which Morsel does not support; declare the ` +
        'feature with a scalar or Array type, or leave it out of the request.'
  return new MorselError('MORSEL_UNSUPPORTED', message, {
    details: {
      field,
      ...(feastType === undefined ? {} : { feastType }),
      ...(context === undefined ? {} : { feature: context }),
    },
  })
}

/**
 * Reads one field-1 element of a list/set wrapper starting at `pos` (the wire type tells packed
 * from unpacked) and appends it to `out`. Returns the position after it.
 */
function readElements(
  buf: Buffer,
  pos: number,
  end: number,
  wire: number,
  element: number,
  out: FeatureScalar[],
  context: string | undefined,
): number {
  if (element === ValueType.STRING || element === ValueType.BYTES) {
    if (wire !== WIRE_LEN) throw invalidWire(`a list element has wire type ${wire}, not ${WIRE_LEN}`, context)
    const stop = skipField(buf, pos, end, wire, context)
    const start = scratch.payloadStart
    if (element === ValueType.STRING) out.push(buf.toString('utf8', start, stop))
    else out.push(new Uint8Array(buf.subarray(start, stop)))
    return stop
  }
  const native = element === ValueType.DOUBLE ? WIRE_I64 : element === ValueType.FLOAT ? WIRE_I32 : WIRE_VARINT
  let stop: number
  if (wire === WIRE_LEN) {
    stop = skipField(buf, pos, end, wire, context)
    pos = scratch.payloadStart
  } else if (wire === native) {
    stop = skipField(buf, pos, end, wire, context)
  } else {
    throw invalidWire(`a list element has wire type ${wire}`, context)
  }
  switch (element) {
    case ValueType.DOUBLE:
      if ((stop - pos) % 8 !== 0) throw invalidWire('a packed double list is not a multiple of 8 bytes', context)
      for (; pos < stop; pos += 8) out.push(buf.readDoubleLE(pos))
      break
    case ValueType.FLOAT:
      if ((stop - pos) % 4 !== 0) throw invalidWire('a packed float list is not a multiple of 4 bytes', context)
      for (; pos < stop; pos += 4) out.push(buf.readFloatLE(pos))
      break
    case ValueType.INT32:
      while (pos < stop) {
        pos = readVarint(buf, pos, stop, context)
        out.push(scratch.lo | 0)
      }
      break
    case ValueType.INT64:
      while (pos < stop) {
        pos = readVarint(buf, pos, stop, context)
        out.push(int64ToNumber(scratch.lo, scratch.hi))
      }
      break
    case ValueType.BOOL:
      while (pos < stop) {
        pos = readVarint(buf, pos, stop, context)
        out.push((scratch.lo | scratch.hi) !== 0)
      }
      break
    default: // everything else takes the general walk
      while (pos < stop) {
        pos = readVarint(buf, pos, stop, context)
        // A Feature list cannot hold null; an invalid Date stands in for NaT and serializes to JSON null.
        out.push(timestampOf(scratch.lo, scratch.hi, context) ?? new Date(Number.NaN))
      }
  }
  return stop
}

function decodeList(
  buf: Buffer,
  start: number,
  end: number,
  element: number,
  context: string | undefined,
): FeatureScalar[] {
  const out: FeatureScalar[] = []
  let pos = start
  while (pos < end) {
    pos = readVarint(buf, pos, end, context)
    const field = scratch.lo >>> 3
    const wire = scratch.lo & 7
    if (scratch.hi !== 0 || field === 0) throw invalidWire('a field tag is out of range', context)
    if (field === 1) pos = readElements(buf, pos, end, wire, element, out, context)
    else pos = skipField(buf, pos, end, wire, context)
  }
  return out
}

/** The element type of a list- or set-shaped Value field, or undefined if the field is not one. */
function elementOfField(field: number): number | undefined {
  if (field >= 11 && field <= 18) return field - 10
  if (field >= 22 && field <= 29) return field - 21
  switch (field) {
    case 33:
    case 38:
    case 39:
    case 40:
    case 41:
    case 45:
    case 46:
      return ValueType.STRING
    default: // everything else takes the general walk
      return undefined
  }
}

/**
 * Parses `Value` bytes into a JavaScript value: zero bytes or `null_val` → null; INT64 → number
 * (exact within ±2^53, the nearest double beyond: Feast features that need more bits must be
 * read as strings upstream); UNIX_TIMESTAMP → Date (NaT → null); lists and sets → arrays;
 * json/uuid/decimal → string. Maps, structs and nested lists throw MORSEL_UNSUPPORTED; malformed
 * bytes throw MORSEL_VALUE_INVALID.
 */
export function decodeValue(bytes: Uint8Array, context?: string): FeatureValue {
  const end = bytes.length
  if (end === 0) return null
  // Fast paths for a Value holding one scalar, which is what Feast and Morsel write: the tag and
  // the length prove that no other field follows, so the general walk below would agree.
  switch (bytes[0]) {
    case 0x29: // double_val
      if (end === 9) return readDouble(bytes, 1)
      break
    case 0x20: // int64_val
    case 0x18: {
      // int32_val
      const n = shortVarint(bytes, end)
      if (n >= 0) return bytes[0] === 0x20 ? n : n | 0
      break
    }
    case 0x12: // string_val shorter than 128 bytes
      if (end === bytes[1]! + 2 && end < 130) return asBuffer(bytes).toString('utf8', 2, end)
      break
    case 0x35: // float_val
      if (end === 5) return readFloat(bytes, 1)
      break
    case 0x38: // bool_val
      if (end === 2 && bytes[1]! < 0x80) return bytes[1] !== 0
      break
    default: // everything else takes the general walk
  }
  const buf = asBuffer(bytes)
  findLastField(buf, end, context)
  const { field, wire, start, stop } = found
  switch (field) {
    case 1:
      expectWire(wire, WIRE_LEN, field, context)
      // A copy, so a small value does not keep a large reply buffer alive.
      return new Uint8Array(buf.subarray(start, stop))
    case 2:
    case 32:
    case 36:
    case 37:
    case 44:
      expectWire(wire, WIRE_LEN, field, context)
      return buf.toString('utf8', start, stop)
    case 3:
      expectWire(wire, WIRE_VARINT, field, context)
      readVarint(buf, start, stop, context)
      return scratch.lo | 0
    case 4:
      expectWire(wire, WIRE_VARINT, field, context)
      readVarint(buf, start, stop, context)
      return int64ToNumber(scratch.lo, scratch.hi)
    case 5:
      expectWire(wire, WIRE_I64, field, context)
      return buf.readDoubleLE(start)
    case 6:
      expectWire(wire, WIRE_I32, field, context)
      return buf.readFloatLE(start)
    case 7:
      expectWire(wire, WIRE_VARINT, field, context)
      readVarint(buf, start, stop, context)
      return (scratch.lo | scratch.hi) !== 0
    case 8:
      expectWire(wire, WIRE_VARINT, field, context)
      readVarint(buf, start, stop, context)
      return timestampOf(scratch.lo, scratch.hi, context)
    case 19:
      expectWire(wire, WIRE_VARINT, field, context)
      return null
    default: {
      const element = elementOfField(field)
      if (element === undefined) throw unsupported(field, context)
      expectWire(wire, WIRE_LEN, field, context)
      return decodeList(buf, start, stop, element, context)
    }
  }
}

/**
 * The oneof field number of encoded `Value` bytes (null for zero bytes), to check stored data
 * against a declared type without decoding it. Fields with no `ValueTypeCode` (sets, maps, json …)
 * give `ValueType.UNKNOWN`; `valueFieldOfEncoded` has the raw number.
 */
export function valueTypeOfEncoded(bytes: Uint8Array): ValueTypeCode | null {
  const field = valueFieldOfEncoded(bytes)
  if (field === null) return null
  return (field >= 1 && field <= 8) || (field >= 11 && field <= 19) ? (field as ValueTypeCode) : ValueType.UNKNOWN
}

/** The raw oneof field number of encoded `Value` bytes, or null for zero bytes. */
export function valueFieldOfEncoded(bytes: Uint8Array): number | null {
  if (bytes.length === 0) return null
  findLastField(asBuffer(bytes), bytes.length, undefined)
  return found.field
}
