import fc from 'fast-check'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { decodeTimestamp, encodeTimestamp } from '../../../src/encoding/index.js'
import { MorselError } from '../../../src/errors/index.js'
import { hex, specBytes } from './spec-bytes.js'

const Timestamp = protobuf
  .parse('syntax = "proto3"; package google.protobuf; message Timestamp { int64 seconds = 1; int32 nanos = 2; }', {
    keepCase: true,
  })
  .root.lookupType('google.protobuf.Timestamp')

function morselError(fn: () => unknown): MorselError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MorselError)
    return err as MorselError
  }
  throw new Error('expected a MorselError, nothing was thrown')
}

const micros = (iso: string, extraMicros = 0): number => Date.parse(iso) * 1000 + extraMicros

describe('Timestamp: spec golden vectors (feast-internals.md §1.4, §1.11)', () => {
  it('2024-01-15T00:00:00Z is 08 80 eb 91 ad 06', () => {
    const us = micros('2024-01-15T00:00:00Z')
    expect(hex(encodeTimestamp(us))).toBe(hex(specBytes('08 80 eb 91 ad 06')))
    expect(decodeTimestamp(specBytes('08 80 eb 91 ad 06'))).toBe(us)
  })

  it('2024-01-15T00:00:00.123456Z is 08 80 eb 91 ad 06 10 80 94 ef 3a', () => {
    const us = micros('2024-01-15T00:00:00.123Z', 456)
    expect(hex(encodeTimestamp(us))).toBe(hex(specBytes('08 80 eb 91 ad 06 10 80 94 ef 3a')))
    expect(decodeTimestamp(specBytes('08 80 eb 91 ad 06 10 80 94 ef 3a'))).toBe(us)
  })

  it('the epoch is zero bytes, and zero bytes are the epoch', () => {
    expect(encodeTimestamp(0).length).toBe(0)
    expect(decodeTimestamp(new Uint8Array(0))).toBe(0)
  })
})

describe('Timestamp: edge cases', () => {
  it('omits zero seconds but keeps nanos', () => {
    expect(hex(encodeTimestamp(1))).toBe('10e807')
  })

  it('writes times before 1970 with negative seconds and non-negative nanos', () => {
    // -1 µs = seconds -1, nanos 999999000
    expect(hex(encodeTimestamp(-1))).toBe(hex(specBytes('08 ff ff ff ff ff ff ff ff ff 01 10 98 8c eb dc 03')))
    expect(decodeTimestamp(encodeTimestamp(-1))).toBe(-1)
    expect(decodeTimestamp(encodeTimestamp(-1_000_000))).toBe(-1_000_000)
  })

  it('floors fractional microseconds', () => {
    expect(hex(encodeTimestamp(1.9))).toBe(hex(encodeTimestamp(1)))
    expect(hex(encodeTimestamp(-0.5))).toBe(hex(encodeTimestamp(-1)))
  })

  it('truncates nanos to microseconds when decoding', () => {
    expect(decodeTimestamp(specBytes('08 01 10 e7 07'))).toBe(1_000_000) // 999 ns
    expect(decodeTimestamp(specBytes('08 01 10 cf 0f'))).toBe(1_000_001) // 1999 ns
  })

  it('lets the last occurrence of a field win and skips unknown fields', () => {
    expect(decodeTimestamp(specBytes('08 01 08 02'))).toBe(2_000_000)
    expect(decodeTimestamp(specBytes('1a 02 61 62 08 01 25 00 00 00 00'))).toBe(1_000_000)
  })

  it('rejects times it cannot represent', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      const err = morselError(() => encodeTimestamp(bad))
      expect(err.code).toBe('MORSEL_VALUE_INVALID')
      expect(err.message).toContain('microseconds')
    }
  })

  it.each([
    ['a truncated varint', '08 80'],
    ['seconds sent length-delimited', '0a 01 00'],
    ['a truncated unknown field', '1a 05 00'],
    ['field number 0', '00'],
    ['a group wire type', '0b'],
  ])('rejects %s with MORSEL_VALUE_INVALID', (_label, bytes) => {
    const err = morselError(() => decodeTimestamp(specBytes(bytes)))
    expect(err.code).toBe('MORSEL_VALUE_INVALID')
    expect(err.message).toContain('_ts')
  })
})

describe('Timestamp agrees with protobufjs', () => {
  const MAX = Number.MAX_SAFE_INTEGER

  it('our bytes equal protobufjs bytes and read back as seconds/nanos', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -MAX, max: MAX }), fc.integer()), (us) => {
        const ours = encodeTimestamp(us)
        const seconds = Math.floor(us / 1e6)
        const nanos = (us - seconds * 1e6) * 1000
        const reference = Timestamp.encode(Timestamp.fromObject({ seconds: String(seconds), nanos })).finish()
        expect(hex(ours)).toBe(hex(reference))
        const back = Timestamp.toObject(Timestamp.decode(ours), { longs: String, defaults: true }) as {
          seconds: string
          nanos: number
        }
        expect(BigInt(back.seconds) * 1_000_000n + BigInt(back.nanos / 1000)).toBe(BigInt(us))
        expect(back.nanos).toBeGreaterThanOrEqual(0)
        expect(back.nanos).toBeLessThan(1e9)
        expect(decodeTimestamp(ours)).toBe(us)
      }),
    )
  })

  it('decodeTimestamp reads what protobufjs writes, truncating nanos to µs', () => {
    fc.assert(
      fc.property(fc.integer({ min: -9e9, max: 9e9 }), fc.integer({ min: 0, max: 999_999_999 }), (seconds, nanos) => {
        const bytes = Timestamp.encode(Timestamp.fromObject({ seconds: String(seconds), nanos })).finish()
        expect(decodeTimestamp(bytes)).toBe(seconds * 1e6 + Math.floor(nanos / 1000))
      }),
    )
  })
})

describe('Timestamp: the fast path agrees with the general walk', () => {
  it('round-trips times up to the largest safe microsecond, and before 1970', () => {
    for (const us of [0, 1, 999, 1_000_000, 1_705_276_800_000_000, 1_705_276_800_123_456, Number.MAX_SAFE_INTEGER, -1, -1_705_276_800_000_001, Number.MIN_SAFE_INTEGER]) {
      expect(decodeTimestamp(encodeTimestamp(us))).toBe(us)
    }
  })

  it('leaves unusual layouts to the general walk', () => {
    // nanos before seconds, nanos alone, a trailing unknown field, nanos of a second or more
    expect(decodeTimestamp(specBytes('10 e8 07 08 01'))).toBe(1_000_001)
    expect(decodeTimestamp(specBytes('10 e8 07'))).toBe(1)
    expect(decodeTimestamp(specBytes('08 01 10 e8 07 18 05'))).toBe(1_000_001)
    expect(decodeTimestamp(specBytes('08 01 10 80 94 eb dc 03'))).toBe(2_000_000)
  })

  it('rejects a truncated seconds varint', () => {
    expect(() => decodeTimestamp(specBytes('08 80 80'))).toThrow(MorselError)
  })
})
