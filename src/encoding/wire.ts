import { MorselError } from '../errors/index.js'

/**
 * Protobuf wire primitives shared by the Value and Timestamp codecs. 64-bit integers travel as
 * two unsigned 32-bit halves so that the decode path never needs BigInt.
 */

export const WIRE_VARINT = 0
export const WIRE_I64 = 1
export const WIRE_LEN = 2
export const WIRE_I32 = 5

const TWO_32 = 4294967296
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
// 19 digits for the int64 extremes, plus room for a sign and some leading zeros; anything longer
// is out of range, and the bound keeps a hostile megabyte-long digit string away from BigInt().
const MAX_INT64_STRING = 40
const DECIMAL_INTEGER = /^-?[0-9]+$/

/**
 * Out-parameters of the readers and splitters: halves (unsigned) of the last varint read or int64
 * split, and the payload start of the last LEN field skipped. Shared scratch is safe because every
 * codec call runs synchronously to completion, and it keeps the hot path allocation-free.
 */
export const scratch = { lo: 0, hi: 0, payloadStart: 0 }

export function invalidWire(what: string, context?: string): MorselError {
  const where = context === undefined ? '' : ` for '${context}'`
  return new MorselError(
    'MORSEL_VALUE_INVALID',
    `Stored bytes${where} are not a valid protobuf message: ${what}. The data was written by something other ` +
      'than Feast or Morsel, or is corrupt; rewrite it (re-materialize or push the row again).',
    { details: context === undefined ? {} : { context } },
  )
}

/** Reads a varint at `pos` into `scratch.lo`/`scratch.hi`; returns the position after it. */
export function readVarint(buf: Uint8Array, pos: number, end: number, context?: string): number {
  let low = 0
  let b: number
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw invalidWire('a varint runs past the end of the data', context)
    b = buf[pos++]!
    low |= (b & 0x7f) << shift
    if (b < 0x80) {
      scratch.lo = low >>> 0
      scratch.hi = 0
      return pos
    }
  }
  if (pos >= end) throw invalidWire('a varint runs past the end of the data', context)
  b = buf[pos++]!
  low |= (b & 0x7f) << 28
  let high = (b & 0x7f) >> 4
  if (b < 0x80) {
    scratch.lo = low >>> 0
    scratch.hi = high
    return pos
  }
  for (let shift = 3; shift < 32; shift += 7) {
    if (pos >= end) throw invalidWire('a varint runs past the end of the data', context)
    b = buf[pos++]!
    high |= (b & 0x7f) << shift
    if (b < 0x80) {
      scratch.lo = low >>> 0
      scratch.hi = high >>> 0
      return pos
    }
  }
  throw invalidWire('a varint is longer than 10 bytes', context)
}

/** Returns the end of the field whose payload starts at `pos`; for LEN fields also sets `scratch.payloadStart`. */
export function skipField(buf: Uint8Array, pos: number, end: number, wireType: number, context?: string): number {
  switch (wireType) {
    case WIRE_VARINT:
      return readVarint(buf, pos, end, context)
    case WIRE_I64:
      if (pos + 8 > end) throw invalidWire('a 64-bit field runs past the end of the data', context)
      return pos + 8
    case WIRE_I32:
      if (pos + 4 > end) throw invalidWire('a 32-bit field runs past the end of the data', context)
      return pos + 4
    case WIRE_LEN: {
      const start = readVarint(buf, pos, end, context)
      if (scratch.hi !== 0 || scratch.lo > end - start) {
        throw invalidWire('a length-delimited field runs past the end of the data', context)
      }
      scratch.payloadStart = start
      return start + scratch.lo
    }
    default:
      throw invalidWire(`wire type ${wireType} is not used by proto3`, context)
  }
}

/** Signed int64 from halves. Exact within ±2^53; beyond that the nearest double (one rounding). */
export function int64ToNumber(low: number, high: number): number {
  return (high | 0) * TWO_32 + low
}

export function varintSize32(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5
}

export function varintSize64(low: number, high: number): number {
  return high === 0 ? varintSize32(low) : Math.ceil((64 - Math.clz32(high)) / 7)
}

/** Writes an unsigned 32-bit varint; returns the position after it. */
export function writeVarint32(buf: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  buf[pos++] = v
  return pos
}

export function writeVarint64(buf: Uint8Array, pos: number, low: number, high: number): number {
  while (high !== 0) {
    buf[pos++] = (low & 0x7f) | 0x80
    low = ((low >>> 7) | (high << 25)) >>> 0
    high >>>= 7
  }
  return writeVarint32(buf, pos, low)
}

/** Splits a safe integer into two's-complement halves (`scratch.lo`/`scratch.hi`). */
export function splitSafeInteger(n: number): void {
  scratch.lo = n >>> 0
  scratch.hi = Math.floor(n / TWO_32) >>> 0
}

export function splitBigInt(n: bigint): void {
  const u = BigInt.asUintN(64, n)
  scratch.lo = Number(u & 0xffffffffn)
  scratch.hi = Number(u >> 32n)
}

/**
 * The forms an int64 may arrive in: a safe integer, a bigint in range, or a decimal string (JSON
 * clients send IDs beyond 2^53 as strings). Returns undefined for anything else.
 */
export function asInt64(value: unknown): number | bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined
  if (typeof value === 'bigint') return value >= INT64_MIN && value <= INT64_MAX ? value : undefined
  if (typeof value === 'string') {
    if (value.length > MAX_INT64_STRING || !DECIMAL_INTEGER.test(value)) return undefined
    const n = BigInt(value)
    return n >= INT64_MIN && n <= INT64_MAX ? n : undefined
  }
  return undefined
}

/** Why `asInt64` refused a value, phrased as advice. Error path only. */
export function int64Problem(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'it is not an integer'
    return (
      'it is beyond ±2^53 (Number.MAX_SAFE_INTEGER), so it may already have lost precision; ' +
      'send it as a string of digits (e.g. "9007199254740993") or a bigint'
    )
  }
  if (typeof value === 'bigint') return 'it is outside the Int64 range (-2^63 to 2^63-1)'
  if (typeof value === 'string') {
    return DECIMAL_INTEGER.test(value)
      ? 'it is outside the Int64 range (-2^63 to 2^63-1)'
      : 'a string must hold only decimal digits with an optional leading "-"'
  }
  return 'send a number, a bigint, or a string of digits'
}
