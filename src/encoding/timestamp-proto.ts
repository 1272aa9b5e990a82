import { MorselError } from '../errors/index.js'
import {
  WIRE_VARINT,
  int64ToNumber,
  invalidWire,
  readVarint,
  scratch,
  skipField,
  splitSafeInteger,
  varintSize32,
  varintSize64,
  writeVarint32,
  writeVarint64,
} from './wire.js'

/**
 * `google.protobuf.Timestamp` (`int64 seconds = 1; int32 nanos = 2`), the bytes Feast stores in
 * the `_ts:<view>` hash field. Morsel carries event times as epoch microseconds (a number), which
 * is also Python's datetime precision.
 */

const MICROS_PER_SECOND = 1e6

/**
 * Serializes an event time given in epoch microseconds (fractions of a µs are floored). Zero
 * fields are omitted, so the epoch itself is zero bytes; before 1970, seconds are negative and
 * nanos stay in [0, 1e9), as protobuf requires.
 */
export function encodeTimestamp(epochMicros: number): Buffer {
  if (!Number.isFinite(epochMicros) || Math.abs(epochMicros) > Number.MAX_SAFE_INTEGER) {
    throw new MorselError(
      'MORSEL_VALUE_INVALID',
      `An event timestamp of ${String(epochMicros)} µs cannot be stored; it must be a finite number of ` +
        'microseconds since the epoch within ±2^53 (check the unit: seconds and nanoseconds are common mix-ups).',
      { details: { epochMicros } },
    )
  }
  const micros = Math.floor(epochMicros)
  const seconds = Math.floor(micros / MICROS_PER_SECOND)
  const nanos = (micros - seconds * MICROS_PER_SECOND) * 1000
  let size = 0
  if (seconds !== 0) {
    splitSafeInteger(seconds)
    size += 1 + varintSize64(scratch.lo, scratch.hi)
  }
  if (nanos !== 0) size += 1 + varintSize32(nanos)
  const out = Buffer.allocUnsafe(size)
  let pos = 0
  if (seconds !== 0) {
    out[pos++] = 0x08
    pos = writeVarint64(out, pos, scratch.lo, scratch.hi)
  }
  if (nanos !== 0) {
    out[pos++] = 0x10
    writeVarint32(out, pos, nanos)
  }
  return out
}

/**
 * A varint of at most 7 bytes (exact in a double) starting at `pos`, with the position after it in
 * `scratch.payloadStart`; -1 when it is longer or runs past `end`.
 */
function shortVarintAt(bytes: Uint8Array, pos: number, end: number): number {
  let value = 0
  let scale = 1
  const last = Math.min(end, pos + 7)
  for (let i = pos; i < last; i++) {
    const b = bytes[i]!
    value += (b & 0x7f) * scale
    if (b < 0x80) {
      scratch.payloadStart = i + 1
      return value
    }
    scale *= 128
  }
  return -1
}

/**
 * Parses Timestamp bytes into epoch microseconds (nanos below a µs are dropped). Zero bytes are
 * the epoch, which is also what Feast reports for a missing `_ts` field.
 */
export function decodeTimestamp(bytes: Uint8Array): number {
  const end = bytes.length
  // Fast path: positive seconds (field 1), then optionally nanos (field 2), nothing else: what
  // Feast and Morsel write for every time since 1970. Anything else takes the general walk.
  if (end > 1 && bytes[0] === 0x08) {
    const secs = shortVarintAt(bytes, 1, end)
    const at = scratch.payloadStart
    if (secs >= 0) {
      if (at === end) return secs * MICROS_PER_SECOND
      if (bytes[at] === 0x10) {
        const ns = shortVarintAt(bytes, at + 1, end)
        if (ns >= 0 && ns < 1e9 && scratch.payloadStart === end) return secs * MICROS_PER_SECOND + Math.floor(ns / 1000)
      }
    }
  }
  let seconds = 0
  let nanos = 0
  let pos = 0
  while (pos < end) {
    pos = readVarint(bytes, pos, end, '_ts')
    const field = scratch.lo >>> 3
    const wire = scratch.lo & 7
    if (scratch.hi !== 0 || field === 0) throw invalidWire('a field tag is out of range', '_ts')
    if (field === 1 || field === 2) {
      if (wire !== WIRE_VARINT) {
        throw invalidWire(`Timestamp field ${field} has wire type ${wire}, not ${WIRE_VARINT}`, '_ts')
      }
      pos = readVarint(bytes, pos, end, '_ts')
      if (field === 1) seconds = int64ToNumber(scratch.lo, scratch.hi)
      else nanos = scratch.lo | 0
    } else {
      // Unknown fields are skipped, as every protobuf reader does.
      pos = skipField(bytes, pos, end, wire, '_ts')
    }
  }
  return seconds * MICROS_PER_SECOND + Math.floor(nanos / 1000)
}
