import { describe, expect, it } from 'vitest'
import {
  NULL_VALUE_BYTES,
  decodeValue,
  encodeValue,
  valueFieldOfEncoded,
  valueTypeOfEncoded,
} from '../../../src/encoding/index.js'
import { MorselError } from '../../../src/errors/index.js'
import { ValueType, type ValueTypeCode } from '../../../src/types/value-type.js'
import { hex, specBytes } from './spec-bytes.js'

function morselError(fn: () => unknown): MorselError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MorselError)
    return err as MorselError
  }
  throw new Error('expected a MorselError, nothing was thrown')
}

// feast-internals.md §1.5 "Wire facts a TS encoder must reproduce byte-for-byte", and the
// §1.11 full write of a zipcode_features row. [label, value, type, bytes, decoded form].
const GOLDEN: ReadonlyArray<readonly [string, unknown, ValueTypeCode, string, unknown]> = [
  ['int64_val=33259', 33259, ValueType.INT64, '20 eb 83 02', 33259],
  ['int64_val=0', 0, ValueType.INT64, '20 00', 0],
  ['int64_val=-1', -1, ValueType.INT64, '20 ff ff ff ff ff ff ff ff ff 01', -1],
  ['int32_val=-1', -1, ValueType.INT32, '18 ff ff ff ff ff ff ff ff ff 01', -1],
  ['string_val="TX"', 'TX', ValueType.STRING, '12 02 54 58', 'TX'],
  ['bytes_val="abc"', Buffer.from('abc'), ValueType.BYTES, '0a 03 61 62 63', new Uint8Array([0x61, 0x62, 0x63])],
  ['double_val=0.5', 0.5, ValueType.DOUBLE, '29 00 00 00 00 00 00 e0 3f', 0.5],
  ['float_val=0.5', 0.5, ValueType.FLOAT, '35 00 00 00 3f', 0.5],
  ['bool_val=true', true, ValueType.BOOL, '38 01', true],
  ['float_list_val=[0.5,1.0]', [0.5, 1.0], ValueType.FLOAT_LIST, '82 01 0a 0a 08 00 00 00 3f 00 00 80 3f', [0.5, 1]],
  ['int64_list_val=[1,2]', [1, 2], ValueType.INT64_LIST, '72 04 0a 02 01 02', [1, 2]],
  ['city "FORT WORTH"', 'FORT WORTH', ValueType.STRING, '12 0a "FORT WORTH"', 'FORT WORTH'],
  ['state "TX"', 'TX', ValueType.STRING, '12 02 "TX"', 'TX'],
  ['location_type "PRIMARY"', 'PRIMARY', ValueType.STRING, '12 07 "PRIMARY"', 'PRIMARY'],
  ['tax_returns_filed 33259', 33259, ValueType.INT64, '20 eb 83 02', 33259],
  ['population 54839', 54839, ValueType.INT64, '20 b7 ac 03', 54839],
  ['total_wages 1116383556', 1116383556, ValueType.INT64, '20 c4 d2 aa 94 04', 1116383556],
]

describe('encodeValue / decodeValue: spec golden vectors', () => {
  it.each(GOLDEN)('%s encodes to the spec bytes', (_label, value, type, bytes) => {
    expect(hex(encodeValue(value, type))).toBe(hex(specBytes(bytes)))
  })

  it.each(GOLDEN)('%s decodes from the spec bytes', (_label, _value, _type, bytes, decoded) => {
    expect(decodeValue(specBytes(bytes))).toEqual(decoded)
  })

  it('writes null and undefined as zero bytes, and reads zero bytes as null', () => {
    expect(encodeValue(null, ValueType.INT64).length).toBe(0)
    expect(encodeValue(undefined, ValueType.STRING_LIST).length).toBe(0)
    expect(NULL_VALUE_BYTES.length).toBe(0)
    expect(decodeValue(new Uint8Array(0))).toBeNull()
  })
})

describe('encodeValue: other exact encodings', () => {
  const cases: ReadonlyArray<readonly [string, unknown, ValueTypeCode, string]> = [
    ['zero int32 is written', 0, ValueType.INT32, '18 00'],
    ['false is written', false, ValueType.BOOL, '38 00'],
    ['empty string is written', '', ValueType.STRING, '12 00'],
    ['zero double is written', 0, ValueType.DOUBLE, '29 00 00 00 00 00 00 00 00'],
    ['int64 max as a digit string', '9223372036854775807', ValueType.INT64, '20 ff ff ff ff ff ff ff ff 7f'],
    ['int64 min as a bigint', -(2n ** 63n), ValueType.INT64, '20 80 80 80 80 80 80 80 80 80 01'],
    ['int64 -2^32 as a number', -(2 ** 32), ValueType.INT64, '20 80 80 80 80 f0 ff ff ff ff 01'],
    ['int32 min', -(2 ** 31), ValueType.INT32, '18 80 80 80 80 f8 ff ff ff ff 01'],
    ['unix timestamp from seconds', 1705276800, ValueType.UNIX_TIMESTAMP, '40 80 eb 91 ad 06'],
    ['unix timestamp from a Date, floored', new Date('2024-01-15T00:00:00.999Z'), ValueType.UNIX_TIMESTAMP, '40 80 eb 91 ad 06'],
    ['unix timestamp before 1970 floors down', new Date(-1), ValueType.UNIX_TIMESTAMP, '40 ff ff ff ff ff ff ff ff ff 01'],
    ['empty string list', [], ValueType.STRING_LIST, '62 00'],
    ['empty int64 list', [], ValueType.INT64_LIST, '72 00'],
    ['empty float list (two-byte tag)', [], ValueType.FLOAT_LIST, '82 01 00'],
    ['string list, one record per element', ['a', 'bc'], ValueType.STRING_LIST, '62 07 0a 01 "a" 0a 02 "bc"'],
    ['bytes list', [Buffer.from([1]), new Uint8Array(0)], ValueType.BYTES_LIST, '5a 05 0a 01 01 0a 00'],
    ['packed int32 list with a negative', [-1, 1], ValueType.INT32_LIST, '6a 0d 0a 0b ff ff ff ff ff ff ff ff ff 01 01'],
    ['packed bool list', [true, false, true], ValueType.BOOL_LIST, '8a 01 05 0a 03 01 00 01'],
    ['packed double list', [0.5], ValueType.DOUBLE_LIST, '7a 0a 0a 08 00 00 00 00 00 00 e0 3f'],
    ['unix timestamp list', [1, new Date(2000)], ValueType.UNIX_TIMESTAMP_LIST, '92 01 04 0a 02 01 02'],
    ['int64 list mixing number, bigint and string', [1, 2n, '3'], ValueType.INT64_LIST, '72 05 0a 03 01 02 03'],
    ['astral string', '😀', ValueType.STRING, '12 04 f0 9f 98 80'],
    ['NaN float is allowed', Number.NaN, ValueType.FLOAT, '35 00 00 c0 7f'],
    ['float beyond float32 range becomes +Infinity', 1e39, ValueType.FLOAT, '35 00 00 80 7f'],
  ]

  it.each(cases)('%s', (_label, value, type, bytes) => {
    expect(hex(encodeValue(value, type))).toBe(hex(specBytes(bytes)))
  })

  it('rounds float32 values the way Math.fround does', () => {
    expect(decodeValue(encodeValue(0.1, ValueType.FLOAT))).toBe(Math.fround(0.1))
    expect(decodeValue(encodeValue([0.1, -1e-40], ValueType.FLOAT_LIST))).toEqual([Math.fround(0.1), Math.fround(-1e-40)])
  })

  it('keeps a string longer than 127 bytes with a multi-byte length', () => {
    const text = 'é'.repeat(100)
    const bytes = encodeValue(text, ValueType.STRING)
    expect(hex(bytes.subarray(0, 3))).toBe('12c801')
    expect(decodeValue(bytes)).toBe(text)
  })
})

describe('encodeValue: invalid values', () => {
  const bad: ReadonlyArray<readonly [string, unknown, ValueTypeCode, RegExp]> = [
    ['a string for a Float64', '1.5', ValueType.DOUBLE, /declared Float64, but got "1\.5" \(string\): send a number/],
    ['a string for a Float32', '1', ValueType.FLOAT, /declared Float32/],
    ['a fraction for an Int32', 1.5, ValueType.INT32, /Int32.*not an integer/],
    ['an Int32 overflow', 2 ** 31, ValueType.INT32, /2147483648 \(number\).*outside the Int32 range/],
    ['an Int32 underflow', -(2 ** 31) - 1, ValueType.INT32, /outside the Int32 range/],
    ['a fraction for an Int64', 0.5, ValueType.INT64, /Int64.*not an integer/],
    ['an unsafe number for an Int64', 2 ** 60, ValueType.INT64, /2\^53.*string of digits/],
    ['a non-digit string for an Int64', '12a', ValueType.INT64, /decimal digits/],
    ['an out-of-range bigint for an Int64', 2n ** 64n, ValueType.INT64, /outside the Int64 range/],
    ['a number for a String', 5, ValueType.STRING, /declared String, but got 5 \(number\)/],
    ['a lone surrogate in a String', '\uDE00x', ValueType.STRING, /unpaired UTF-16 surrogate at index 0/],
    ['a string for Bytes', 'abc', ValueType.BYTES, /Bytes.*Uint8Array/],
    ['a number for a Bool', 1, ValueType.BOOL, /Bool.*true or false/],
    ['an invalid Date', new Date(Number.NaN), ValueType.UNIX_TIMESTAMP, /invalid Date/],
    ['fractional timestamp seconds', 1.5, ValueType.UNIX_TIMESTAMP, /Math\.floor/],
    ['a scalar for a list', 1, ValueType.INT64_LIST, /Array\(Int64\).*1 \(number\).*an array whose items are each a safe integer/],
    ['a null list element', [1, null], ValueType.INT64_LIST, /element \[1\] is null: lists cannot hold nulls/],
    ['an undefined list element', ['a', undefined], ValueType.STRING_LIST, /element \[1\] is undefined/],
    ['a wrong list element', [0.5, '0.5'], ValueType.DOUBLE_LIST, /element \[1\] is "0\.5" \(string\): send a number/],
    ['an unsafe int64 list element', [2 ** 53], ValueType.INT64_LIST, /element \[0\].*2\^53/],
    ['an int32 list overflow', [2 ** 31], ValueType.INT32_LIST, /element \[0\].*Int32 range/],
    ['a bool list element', [1], ValueType.BOOL_LIST, /element \[0\] is 1 \(number\)/],
    ['a bytes list element', ['x'], ValueType.BYTES_LIST, /element \[0\] is "x"/],
    ['a timestamp list element', ['2024'], ValueType.UNIX_TIMESTAMP_LIST, /element \[0\] is "2024"/],
    ['a lone surrogate in a string list', ['ok', '\uD800'], ValueType.STRING_LIST, /element \[1\].*surrogate/],
    ['a value for a NULL-typed feature', 1, ValueType.NULL, /can only be null/],
  ]

  it.each(bad)('rejects %s', (_label, value, type, message) => {
    const err = morselError(() => encodeValue(value, type, 'credit_history:hard_pulls'))
    expect(err.code).toBe('MORSEL_VALUE_INVALID')
    expect(err.message).toContain("Feature 'credit_history:hard_pulls'")
    expect(err.message).toMatch(message)
    expect(err.details.feature).toBe('credit_history:hard_pulls')
  })

  it('words the message without a context', () => {
    const err = morselError(() => encodeValue('x', ValueType.INT64))
    expect(err.message).toMatch(/^A value is declared Int64/)
  })
})

describe('decodeValue: beyond the golden vectors', () => {
  it('decodes every list type, packed and unpacked', () => {
    expect(decodeValue(specBytes('6a 0d 0a 0b ff ff ff ff ff ff ff ff ff 01 01'))).toEqual([-1, 1])
    // Unpacked: one field-1 record per element, as proto2 writers and some clients produce.
    expect(decodeValue(specBytes('72 06 08 01 08 7f 08 00'))).toEqual([1, 127, 0])
    expect(decodeValue(specBytes('7a 12 09 00 00 00 00 00 00 e0 3f 09 00 00 00 00 00 00 f0 bf'))).toEqual([0.5, -1])
    expect(decodeValue(specBytes('82 01 05 0d 00 00 00 3f'))).toEqual([0.5])
    expect(decodeValue(specBytes('8a 01 04 08 01 08 00'))).toEqual([true, false])
    // Packed and unpacked records may even alternate within one list.
    expect(decodeValue(specBytes('72 08 0a 02 01 02 08 03 08 04'))).toEqual([1, 2, 3, 4])
  })

  it('decodes timestamps to Dates and NaT (INT64_MIN) to null', () => {
    expect(decodeValue(specBytes('40 80 eb 91 ad 06'))).toEqual(new Date('2024-01-15T00:00:00Z'))
    expect(decodeValue(specBytes('40 80 80 80 80 80 80 80 80 80 01'))).toBeNull()
    const list = decodeValue(specBytes('92 01 0d 0a 0b 01 80 80 80 80 80 80 80 80 80 01')) as Date[]
    expect(list[0]).toEqual(new Date(1000))
    // NaT inside a list cannot be null in a FeatureValue; an invalid Date serializes to JSON null.
    expect(Number.isNaN(list[1]!.getTime())).toBe(true)
    expect(JSON.stringify(list)).toBe('["1970-01-01T00:00:01.000Z",null]')
  })

  it('rejects timestamps a Date cannot hold', () => {
    // 1705276800000000 seconds: a microsecond value written where seconds belong.
    const bytes = encodeValue(1705276800000000, ValueType.UNIX_TIMESTAMP)
    const err = morselError(() => decodeValue(bytes, 'v:ts'))
    expect(err.code).toBe('MORSEL_VALUE_INVALID')
    expect(err.message).toMatch(/'v:ts'.*outside the range a JavaScript Date can hold/)
  })

  it('decodes int64 beyond 2^53 to the nearest double and INT64_MIN exactly', () => {
    // 2^63-1 has no double; the nearest is 2^63.
    expect(decodeValue(encodeValue('9223372036854775807', ValueType.INT64))).toBe(2 ** 63)
    expect(decodeValue(encodeValue('-9223372036854775808', ValueType.INT64))).toBe(-(2 ** 63))
    expect(decodeValue(encodeValue('9007199254740993', ValueType.INT64))).toBe(9007199254740992)
    expect(decodeValue(encodeValue(-Number.MAX_SAFE_INTEGER, ValueType.INT64))).toBe(-Number.MAX_SAFE_INTEGER)
  })

  it('reads null_val as null', () => {
    expect(decodeValue(specBytes('98 01 00'))).toBeNull()
  })

  it('decodes set types to arrays', () => {
    expect(decodeValue(specBytes('ba 01 06 0a 01 "a" 0a 01 "b"'))).toEqual(['a', 'b']) // string_set_val 23
    expect(decodeValue(specBytes('ca 01 04 0a 02 05 06'))).toEqual([5, 6]) // int64_set_val 25
    expect(decodeValue(specBytes('b2 01 03 0a 01 ff'))).toEqual([new Uint8Array([0xff])]) // bytes_set_val 22
  })

  it('decodes json, uuid, time_uuid and decimal values as strings', () => {
    expect(decodeValue(specBytes('82 02 05 "[1,2]"'))).toBe('[1,2]') // json_val 32
    expect(decodeValue(specBytes('a2 02 03 "abc"'))).toBe('abc') // uuid_val 36
    expect(decodeValue(specBytes('aa 02 01 "x"'))).toBe('x') // time_uuid_val 37
    expect(decodeValue(specBytes('e2 02 04 "1.50"'))).toBe('1.50') // decimal_val 44
    expect(decodeValue(specBytes('8a 02 05 0a 03 "[1]"'))).toEqual(['[1]']) // json_list_val 33
  })

  it('lets the last oneof member on the wire win, as protobuf does', () => {
    expect(decodeValue(specBytes('20 01 12 01 "x"'))).toBe('x')
    expect(decodeValue(specBytes('12 01 "x" 20 02'))).toBe(2)
  })

  it('skips unknown fields inside list wrappers', () => {
    expect(decodeValue(specBytes('72 06 10 09 0a 02 01 02'))).toEqual([1, 2])
  })

  it('returns bytes as a fresh Uint8Array, not a view of the input', () => {
    const input = specBytes('0a 03 61 62 63')
    const out = decodeValue(input) as Uint8Array
    expect(Buffer.isBuffer(out)).toBe(false)
    expect(out.buffer).not.toBe(input.buffer)
    input[2] = 0x7a
    expect(hex(out)).toBe('616263')
  })

  it('reads from a plain Uint8Array at a non-zero offset', () => {
    const backing = new Uint8Array([0xee, 0x12, 0x02, 0x54, 0x58, 0xee])
    expect(decodeValue(backing.subarray(1, 5))).toBe('TX')
  })

  const unsupported: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['map_val', 'a2 01 00', /a Feast Map \(map_val\)/],
    ['struct_val', '92 02 00', /a Feast Struct \(struct_val\)/],
    ['list_val', 'd2 02 00', /nested Array \(list_val\)/],
    ['zoned_timestamp_val', '82 03 00', /ZonedTimestamp \(zoned_timestamp_val\)/],
    ['field 9 (not in Value)', '48 01', /field 9, which Feast's Value does not define/],
    ['field 60 (not in Value)', 'e0 03 01', /field 60/],
  ]

  it.each(unsupported)('rejects %s with MORSEL_UNSUPPORTED', (_label, bytes, message) => {
    const err = morselError(() => decodeValue(specBytes(bytes), 'v:f'))
    expect(err.code).toBe('MORSEL_UNSUPPORTED')
    expect(err.message).toMatch(message)
    expect(err.message).toContain("'v:f'")
  })

  const garbage: ReadonlyArray<readonly [string, string]> = [
    ['a truncated varint', '20'],
    ['a truncated varint inside a value', '20 ff'],
    ['a varint longer than 10 bytes', '20 ff ff ff ff ff ff ff ff ff ff 01'],
    ['a length beyond the data', '12 05 61'],
    ['a huge length', '12 ff ff ff ff 0f'],
    ['a truncated double', '29 00 00'],
    ['a truncated float', '35 00'],
    ['field number 0', '00 01'],
    ['a group wire type', '23'],
    ['wire type 7', '27'],
    ['int64 sent length-delimited', '22 01 00'],
    ['string sent as a varint', '10 01'],
    ['double sent as fixed32', '2d 00 00 00 00'],
    ['a list sent as a varint', '70 01'],
    ['a misaligned packed double list', '7a 05 0a 03 00 00 00'],
    ['a misaligned packed float list', '82 01 04 0a 02 00 00'],
    ['a truncated element in a packed int64 list', '72 03 0a 01 80'],
    ['a string list element sent as a varint', '62 02 08 01'],
    ['a float list element with the wrong fixed width', '82 01 09 09 00 00 00 00 00 00 00 00'],
    ['a wrapper longer than its parent', '72 05 0a 09 01'],
    ['a tag beyond 32 bits', '80 80 80 80 80 01'],
  ]

  it.each(garbage)('rejects %s with MORSEL_VALUE_INVALID, never a RangeError', (_label, bytes) => {
    const err = morselError(() => decodeValue(specBytes(bytes), 'v:f'))
    expect(err.code).toBe('MORSEL_VALUE_INVALID')
    expect(err.message).toContain("'v:f'")
  })

  it('never throws anything but a MorselError on random bytes', () => {
    let seed = 12345
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24
    for (let run = 0; run < 20_000; run++) {
      const bytes = new Uint8Array(1 + (next() % 12)).map(() => next())
      try {
        decodeValue(bytes)
        valueTypeOfEncoded(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(MorselError)
      }
    }
  })
})

describe('valueTypeOfEncoded', () => {
  it.each(GOLDEN)('%s reports its declared type', (_label, _value, type, bytes) => {
    expect(valueTypeOfEncoded(specBytes(bytes))).toBe(type)
  })

  it('reports null for zero bytes and NULL for null_val', () => {
    expect(valueTypeOfEncoded(new Uint8Array(0))).toBeNull()
    expect(valueTypeOfEncoded(specBytes('98 01 00'))).toBe(ValueType.NULL)
    expect(valueFieldOfEncoded(new Uint8Array(0))).toBeNull()
  })

  it('reports UNKNOWN for oneof members without a ValueTypeCode, with the raw field available', () => {
    const set = specBytes('ba 01 03 0a 01 "a"')
    expect(valueTypeOfEncoded(set)).toBe(ValueType.UNKNOWN)
    expect(valueFieldOfEncoded(set)).toBe(23)
  })

  it('reports the last member when several are on the wire', () => {
    expect(valueTypeOfEncoded(specBytes('20 01 12 01 "x"'))).toBe(ValueType.STRING)
  })

  it('rejects malformed bytes', () => {
    expect(morselError(() => valueTypeOfEncoded(specBytes('12 05'))).code).toBe('MORSEL_VALUE_INVALID')
  })
})

describe('decodeValue: the single-scalar fast paths agree with the general walk', () => {
  const bytes = (...parts: Array<number | number[] | Buffer>): Uint8Array =>
    Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])))
  const double = (x: number): Buffer => {
    const b = Buffer.alloc(8)
    b.writeDoubleLE(x)
    return b
  }

  it('reads int64 on both sides of the 7-byte varint limit, and negatives', () => {
    for (const n of [0, 1, 127, 128, 2 ** 28 - 1, 2 ** 28, 2 ** 35, 2 ** 49 - 1, 2 ** 49, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER, -1, -(2 ** 40), Number.MIN_SAFE_INTEGER]) {
      expect(decodeValue(encodeValue(n, ValueType.INT64))).toBe(n)
    }
  })

  it('reads int32 extremes, and wraps a longer varint as the general decoder does', () => {
    for (const n of [0, 1, 2 ** 31 - 1, -1, -(2 ** 31)]) expect(decodeValue(encodeValue(n, ValueType.INT32))).toBe(n)
    // 2^32 + 5 in a 5-byte varint: only the low 32 bits count.
    expect(decodeValue(bytes(0x18, 0x85, 0x80, 0x80, 0x80, 0x10))).toBe(5)
  })

  it('accepts non-minimal varints', () => {
    expect(decodeValue(bytes(0x20, 0x81, 0x80, 0x00))).toBe(1)
    expect(decodeValue(bytes(0x38, 0x80, 0x01))).toBe(true)
  })

  it('lets a later field win over a scalar that a fast path would otherwise take', () => {
    expect(decodeValue(bytes(0x20, 0x05, 0x20, 0x07))).toBe(7)
    expect(decodeValue(bytes(0x20, 0x05, 0x29, double(1.5)))).toBe(1.5)
    expect(decodeValue(bytes(0x29, double(2.5), 0x20, 0x01))).toBe(1)
    expect(decodeValue(bytes(0x12, 0x01, 0x61, 0x12, 0x01, 0x62))).toBe('b')
    expect(decodeValue(bytes(0x38, 0x01, 0x38, 0x00))).toBe(false)
  })

  it('keeps every double bit pattern: -0, NaN, infinities, subnormals', () => {
    for (const x of [-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324, 1.7976931348623157e308, 0.1 + 0.2]) {
      expect(Object.is(decodeValue(encodeValue(x, ValueType.DOUBLE)), x)).toBe(true)
      expect(Object.is(decodeValue(encodeValue(x, ValueType.FLOAT)), Math.fround(x))).toBe(true)
    }
  })

  it('reads strings around the one-byte length limit, in UTF-8', () => {
    for (const s of ['', 'a'.repeat(127), 'b'.repeat(128), 'é€😀', 'x'.repeat(125) + 'é']) {
      expect(decodeValue(encodeValue(s, ValueType.STRING))).toBe(s)
    }
  })

  it('reads any bool varint, not only 0 and 1', () => {
    expect(decodeValue(bytes(0x38, 0x02))).toBe(true)
    expect(decodeValue(bytes(0x38, 0x00))).toBe(false)
  })

  it('still reports truncated scalars as invalid', () => {
    for (const bad of [bytes(0x29, 0, 0, 0), bytes(0x20, 0x80), bytes(0x12, 0x05, 0x61), bytes(0x35, 0, 0)]) {
      expect(morselError(() => decodeValue(bad)).code).toBe('MORSEL_VALUE_INVALID')
    }
  })
})
