import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createEntityKeyEncoder,
  entityKeyPrefix,
  parseEntityKey,
  serializeEntityKey,
  type EntityKeyVersion,
  type JoinKeySpec,
} from '../../../src/encoding/index.js'
import { MorselError } from '../../../src/errors/index.js'
import { ValueType } from '../../../src/types/value-type.js'
import { hex, specBytes } from './spec-bytes.js'

const zipcode: JoinKeySpec = { name: 'zipcode', valueType: ValueType.INT64 }
const dobSsn: JoinKeySpec = { name: 'dob_ssn', valueType: ValueType.STRING }
const PROJECT = 'credit_scoring_local'

/** Runs `fn`, expecting a MorselError; returns it for further checks. */
function morselError(fn: () => unknown): MorselError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MorselError)
    return err as MorselError
  }
  throw new Error('expected a MorselError, nothing was thrown')
}

describe('entity keys: spec worked examples (feast-internals.md §1.11)', () => {
  // The spec's full Redis keys, project included; the encoder output is everything before the project.
  const cases: ReadonlyArray<{
    name: string
    keys: JoinKeySpec[]
    values: unknown[]
    version: EntityKeyVersion
    redisKey: string
  }> = [
    {
      name: '(a) zipcode=76104 v3',
      keys: [zipcode],
      values: [76104],
      version: 3,
      redisKey:
        '01 00 00 00 | 02 00 00 00 | 07 00 00 00 | 7a 69 70 63 6f 64 65 ("zipcode") ' +
        '04 00 00 00 | 08 00 00 00 | 48 29 01 00 00 00 00 00 | "credit_scoring_local"',
    },
    {
      name: '(a) zipcode=76104 v2',
      keys: [zipcode],
      values: [76104],
      version: 2,
      redisKey: '02 00 00 00 | "zipcode" | 04 00 00 00 | 08 00 00 00 | 48 29 01 00 00 00 00 00 | "credit_scoring_local"',
    },
    {
      name: '(a) zipcode declared Int32, v3',
      keys: [{ name: 'zipcode', valueType: ValueType.INT32 }],
      values: [76104],
      version: 3,
      redisKey:
        '01 00 00 00 | 02 00 00 00 | 07 00 00 00 | "zipcode" | 03 00 00 00 | 04 00 00 00 | 48 29 01 00 | "credit_scoring_local"',
    },
    {
      name: '(b) dob_ssn v3',
      keys: [dobSsn],
      values: ['19630621_4278'],
      version: 3,
      redisKey:
        '01 00 00 00 | 02 00 00 00 | 07 00 00 00 | "dob_ssn" | 02 00 00 00 | 0d 00 00 00 | "19630621_4278" | "credit_scoring_local"',
    },
    {
      name: '(b) dob_ssn v2',
      keys: [dobSsn],
      values: ['19630621_4278'],
      version: 2,
      redisKey: '02 00 00 00 | "dob_ssn" | 02 00 00 00 | 0d 00 00 00 | "19630621_4278" | "credit_scoring_local"',
    },
    {
      name: '(c) composite v3, given as zipcode, dob_ssn',
      keys: [zipcode, dobSsn],
      values: [76104, '19630621_4278'],
      version: 3,
      redisKey: `02 00 00 00
        02 00 00 00 07 00 00 00 "dob_ssn"
        02 00 00 00 07 00 00 00 "zipcode"
        02 00 00 00 0d 00 00 00 "19630621_4278"
        04 00 00 00 08 00 00 00 48 29 01 00 00 00 00 00
        "credit_scoring_local"`,
    },
    {
      name: '(c) composite v2',
      keys: [zipcode, dobSsn],
      values: [76104, '19630621_4278'],
      version: 2,
      redisKey:
        '02 00 00 00 "dob_ssn" 02 00 00 00 "zipcode" 02 00 00 00 0d 00 00 00 "19630621_4278" ' +
        '04 00 00 00 08 00 00 00 48 29 01 00 00 00 00 00 "credit_scoring_local"',
    },
    {
      name: '(d) entityless dummy key v3',
      keys: [{ name: '__dummy_id', valueType: ValueType.STRING }],
      values: [''],
      version: 3,
      redisKey: '01 00 00 00 02 00 00 00 0a 00 00 00 "__dummy_id" 02 00 00 00 00 00 00 00 "credit_scoring_local"',
    },
  ]

  it.each(cases)('$name', ({ keys, values, version, redisKey }) => {
    const full = specBytes(redisKey.replace('("zipcode")', ''))
    const key = createEntityKeyEncoder(keys, version).encode(values)
    expect(hex(Buffer.concat([key, Buffer.from(PROJECT)]))).toBe(hex(full))
    expect(hex(serializeEntityKey(keys, values, version))).toBe(hex(key))
  })

  it('gives the same bytes whatever order the caller lists the join keys in', () => {
    const a = createEntityKeyEncoder([zipcode, dobSsn], 3).encode([76104, '19630621_4278'])
    const b = createEntityKeyEncoder([dobSsn, zipcode], 3).encode(['19630621_4278', 76104])
    expect(hex(a)).toBe(hex(b))
  })

  it('accepts int64 as number, bigint and digit string with identical bytes', () => {
    const enc = createEntityKeyEncoder([zipcode], 3)
    const expected = hex(enc.encode([76104]))
    expect(hex(enc.encode([76104n]))).toBe(expected)
    expect(hex(enc.encode(['76104']))).toBe(expected)
  })
})

describe('entity keys: value encodings', () => {
  const single = (valueType: JoinKeySpec['valueType'], value: unknown): string =>
    hex(createEntityKeyEncoder([{ name: 'k', valueType }], 2).encode([value]).subarray(4 + 1))

  it('writes int64 as 8 bytes little-endian two\'s complement', () => {
    expect(single(ValueType.INT64, -1)).toBe('04000000' + '08000000' + 'ffffffffffffffff')
    expect(single(ValueType.INT64, -(2 ** 32))).toBe('04000000' + '08000000' + '00000000ffffffff')
    expect(single(ValueType.INT64, Number.MAX_SAFE_INTEGER)).toBe('04000000' + '08000000' + 'ffffffffffff1f00')
    expect(single(ValueType.INT64, '9223372036854775807')).toBe('04000000' + '08000000' + 'ffffffffffffff7f')
    expect(single(ValueType.INT64, '-9223372036854775808')).toBe('04000000' + '08000000' + '0000000000000080')
    expect(single(ValueType.INT64, 12345678901234567890n - 2n ** 64n)).toBe('04000000' + '08000000' + 'd20a1feb8ca954ab')
  })

  it('writes int32 as 4 bytes little-endian two\'s complement', () => {
    expect(single(ValueType.INT32, -2)).toBe('03000000' + '04000000' + 'feffffff')
    expect(single(ValueType.INT32, 2147483647)).toBe('03000000' + '04000000' + 'ffffff7f')
    expect(single(ValueType.INT32, -2147483648)).toBe('03000000' + '04000000' + '00000080')
  })

  it('writes bytes raw and strings as UTF-8', () => {
    expect(single(ValueType.BYTES, Buffer.from([0, 1, 255]))).toBe('01000000' + '03000000' + '0001ff')
    expect(single(ValueType.BYTES, new Uint8Array(0))).toBe('01000000' + '00000000')
    expect(single(ValueType.STRING, 'é😀')).toBe('02000000' + '06000000' + 'c3a9f09f9880')
  })

  it('writes unix timestamps as epoch seconds in 8 bytes, flooring Dates', () => {
    // 2024-01-15T00:00:00Z = 1705276800 = 0x65a47580
    expect(single(ValueType.UNIX_TIMESTAMP, 1705276800)).toBe('08000000' + '08000000' + '8075a46500000000')
    expect(single(ValueType.UNIX_TIMESTAMP, new Date('2024-01-15T00:00:00.999Z'))).toBe(
      '08000000' + '08000000' + '8075a46500000000',
    )
    expect(single(ValueType.UNIX_TIMESTAMP, new Date(-500))).toBe('08000000' + '08000000' + 'ffffffffffffffff')
  })
})

describe('entity keys: join-key sorting by UTF-8 bytes', () => {
  // UTF-16 puts U+1F600 (D83D DE00) before U+FF61; UTF-8 puts U+FF61 (EF BD A1) before U+1F600 (F0 9F 98 80).
  const halfwidth = '\uFF61'
  const emoji = '\u{1F600}'

  it('differs from the JavaScript default sort for these names', () => {
    expect([halfwidth, emoji].sort()).toEqual([emoji, halfwidth])
  })

  it('orders names and values by UTF-8 bytes', () => {
    const keys: JoinKeySpec[] = [
      { name: emoji, valueType: ValueType.INT32 },
      { name: halfwidth, valueType: ValueType.STRING },
    ]
    const bytes = createEntityKeyEncoder(keys, 3).encode([7, 'x'])
    const expected = specBytes(
      '02 00 00 00' +
        ' 02 00 00 00 03 00 00 00 ef bd a1' +
        ' 02 00 00 00 04 00 00 00 f0 9f 98 80' +
        ' 02 00 00 00 01 00 00 00 "x"' +
        ' 03 00 00 00 04 00 00 00 07 00 00 00',
    )
    expect(hex(bytes)).toBe(hex(expected))
    expect(parseEntityKey(bytes, 3).joinKeys).toEqual([halfwidth, emoji])
  })

  it('keeps the caller order in joinKeys', () => {
    const keys: JoinKeySpec[] = [zipcode, dobSsn]
    expect(createEntityKeyEncoder(keys, 3).joinKeys.map((k) => k.name)).toEqual(['zipcode', 'dob_ssn'])
  })

  it('builds the v3 names prefix that starts every key of the join-key set', () => {
    const prefix = entityKeyPrefix(['zipcode', 'dob_ssn'], 3)
    expect(hex(prefix)).toBe(
      hex(specBytes('02 00 00 00 02 00 00 00 07 00 00 00 "dob_ssn" 02 00 00 00 07 00 00 00 "zipcode"')),
    )
    const key = createEntityKeyEncoder([zipcode, dobSsn], 3).encode([1, 'a'])
    expect(hex(key.subarray(0, prefix.length))).toBe(hex(prefix))
    expect(hex(entityKeyPrefix(['zipcode'], 2))).toBe(hex(specBytes('02 00 00 00 "zipcode"')))
  })
})

describe('entity keys: invalid values', () => {
  const enc = createEntityKeyEncoder(
    [
      zipcode,
      dobSsn,
      { name: 'branch', valueType: ValueType.INT32 },
      { name: 'blob', valueType: ValueType.BYTES },
      { name: 'opened', valueType: ValueType.UNIX_TIMESTAMP },
    ],
    3,
  )
  const good: unknown[] = [76104, '19630621_4278', 12, Buffer.from('b'), 1705276800]
  const withValue = (index: number, value: unknown): unknown[] => good.map((v, i) => (i === index ? value : v))

  it('accepts the baseline values', () => {
    expect(enc.encode(good).length).toBeGreaterThan(0)
  })

  const bad: ReadonlyArray<readonly [string, number, unknown, RegExp]> = [
    ['int64 given a non-digit string', 0, 'abc', /Int64.*"abc" \(string\).*decimal digits/],
    ['int64 given an unsafe number', 0, 2 ** 53, /9007199254740992 \(number\).*2\^53.*string of digits/],
    ['int64 given a fraction', 0, 1.5, /1\.5 \(number\).*not an integer/],
    ['int64 given a bigint out of range', 0, 2n ** 63n, /outside the Int64 range/],
    ['int64 given a digit string out of range', 0, '9223372036854775808', /outside the Int64 range/],
    ['int64 given null', 0, null, /got null.*cannot be null/],
    ['int64 given a boolean', 0, true, /true \(boolean\)/],
    ['string given a number', 1, 42, /String.*42 \(number\).*send it as a string: "42"/],
    ['string given a lone surrogate', 1, 'a\uD83D', /unpaired UTF-16 surrogate at index 1/],
    ['int32 overflow', 2, 2 ** 31, /2147483648 \(number\).*outside the Int32 range.*Int64/],
    ['int32 given a string', 2, '12', /Int32.*"12" \(string\)/],
    ['int32 given a fraction', 2, 0.5, /not an integer/],
    ['bytes given a string', 3, 'b', /Bytes.*"b" \(string\).*Uint8Array/],
    ['timestamp given an invalid Date', 4, new Date(Number.NaN), /invalid Date/],
    ['timestamp given fractional seconds', 4, 1.5, /safe integer/],
    ['timestamp given an ISO string', 4, '2024-01-15', /UnixTimestamp.*"2024-01-15" \(string\)/],
  ]

  it.each(bad)('%s', (_label, index, value, message) => {
    const err = morselError(() => enc.encode(withValue(index, value)))
    expect(err.code).toBe('MORSEL_ENTITY_KEY_INVALID')
    const name = enc.joinKeys[index]!.name
    expect(err.message).toContain(`'${name}'`)
    expect(err.message).toMatch(message)
    expect(err.details.joinKey).toBe(name)
  })

  it('truncates long received values in the message', () => {
    const err = morselError(() => enc.encode(withValue(0, 'x'.repeat(10_000))))
    expect(err.message.length).toBeLessThan(400)
    expect(err.message).toContain('(10002 chars)')
  })

  it('names the first join key without a value when values are missing', () => {
    const err = morselError(() => enc.encode(good.slice(0, 2)))
    expect(err.code).toBe('MORSEL_ENTITY_KEY_INVALID')
    expect(err.message).toContain("'branch'")
    expect(err.message).toContain('[zipcode, dob_ssn, branch, blob, opened]')
  })

  it('rejects extra values', () => {
    const err = morselError(() => enc.encode([...good, 1]))
    expect(err.code).toBe('MORSEL_ENTITY_KEY_INVALID')
    expect(err.message).toMatch(/Got 6 entity key values.*5 join keys/)
  })

  it('rejects an undefined hole in the values', () => {
    const err = morselError(() => enc.encode(withValue(1, undefined)))
    expect(err.code).toBe('MORSEL_ENTITY_KEY_INVALID')
    expect(err.message).toContain("'dob_ssn'")
  })

  it('is reusable after an error', () => {
    morselError(() => enc.encode(withValue(0, 'abc')))
    expect(hex(enc.encode(good))).toBe(hex(serializeEntityKey(enc.joinKeys, good, 3)))
  })
})

describe('entity keys: invalid definitions', () => {
  it('rejects join key types Feast cannot key on', () => {
    const err = morselError(() => createEntityKeyEncoder([{ name: 'score', valueType: ValueType.DOUBLE }], 3))
    expect(err.code).toBe('MORSEL_DEFINITION_INVALID')
    expect(err.message).toMatch(/'score' is declared Float64.*String, Bytes, Int32, Int64 or UnixTimestamp/)
  })

  it('rejects duplicate join keys', () => {
    const err = morselError(() => createEntityKeyEncoder([zipcode, zipcode], 3))
    expect(err.code).toBe('MORSEL_DEFINITION_INVALID')
    expect(err.message).toContain("'zipcode'")
  })

  it('rejects serialization versions other than 2 and 3', () => {
    const err = morselError(() => createEntityKeyEncoder([zipcode], 1 as EntityKeyVersion))
    expect(err.code).toBe('MORSEL_DEFINITION_INVALID')
    expect(err.message).toContain('entity_key_serialization_version 1')
  })
})

describe('parseEntityKey', () => {
  it('reads the spec composite key and stops where the project starts (v3)', () => {
    const key = createEntityKeyEncoder([zipcode, dobSsn], 3).encode([76104, '19630621_4278'])
    const redisKey = Buffer.concat([key, Buffer.from(PROJECT)])
    const parsed = parseEntityKey(redisKey, 3)
    expect(parsed).toEqual({
      joinKeys: ['dob_ssn', 'zipcode'],
      values: ['19630621_4278', 76104n],
      valueTypes: [ValueType.STRING, ValueType.INT64],
      end: key.length,
    })
    expect(redisKey.subarray(parsed.end).toString()).toBe(PROJECT)
  })

  it('reads v2 keys given the join key names in any order', () => {
    const key = createEntityKeyEncoder([zipcode, dobSsn], 2).encode([76104, '19630621_4278'])
    const parsed = parseEntityKey(Buffer.concat([key, Buffer.from(PROJECT)]), 2, ['zipcode', 'dob_ssn'])
    expect(parsed.values).toEqual(['19630621_4278', 76104n])
    expect(parsed.end).toBe(key.length)
  })

  it('requires join key names for v2', () => {
    const key = createEntityKeyEncoder([zipcode], 2).encode([1])
    expect(morselError(() => parseEntityKey(key, 2)).code).toBe('MORSEL_USAGE')
  })

  it('rejects keys whose names differ from the expected ones', () => {
    const key = createEntityKeyEncoder([zipcode], 3).encode([1])
    const v3 = morselError(() => parseEntityKey(key, 3, ['zipcodf']))
    expect(v3.code).toBe('MORSEL_ENTITY_KEY_INVALID')
    expect(v3.message).toContain('"zipcode", not "zipcodf"')
    const v2 = createEntityKeyEncoder([zipcode], 2).encode([1])
    expect(morselError(() => parseEntityKey(v2, 2, ['dob_ssn'])).code).toBe('MORSEL_ENTITY_KEY_INVALID')
    expect(morselError(() => parseEntityKey(key, 3, ['zipcode', 'dob_ssn'])).message).toContain('not 2')
  })

  it('rejects truncated and nonsensical bytes without throwing RangeError', () => {
    const key = createEntityKeyEncoder([zipcode, dobSsn], 3).encode([76104, '19630621_4278'])
    for (let cut = 0; cut < key.length; cut++) {
      expect(morselError(() => parseEntityKey(key.subarray(0, cut), 3)).code).toBe('MORSEL_ENTITY_KEY_INVALID')
    }
    expect(morselError(() => parseEntityKey(specBytes('ff ff ff ff 00 00 00 00'), 3)).message).toContain('4294967295')
    const badType = Buffer.from(key)
    badType.writeUInt32LE(5, 4) // first name tagged DOUBLE
    expect(morselError(() => parseEntityKey(badType, 3)).message).toContain('not tagged as a string')
  })

  it('rejects wrong value lengths and types', () => {
    const wrongLength = specBytes('01 00 00 00 02 00 00 00 01 00 00 00 "k" 04 00 00 00 04 00 00 00 01 00 00 00')
    expect(morselError(() => parseEntityKey(wrongLength, 3)).message).toContain('4 bytes, not 8')
    const wrongType = specBytes('01 00 00 00 02 00 00 00 01 00 00 00 "k" 07 00 00 00 01 00 00 00 01')
    expect(morselError(() => parseEntityKey(wrongType, 3)).message).toContain('type code 7')
  })

  it('round-trips random keys of every type, both versions', () => {
    const keyType = fc.constantFrom(ValueType.STRING, ValueType.BYTES, ValueType.INT32, ValueType.INT64, ValueType.UNIX_TIMESTAMP)
    const valueFor = (t: number): fc.Arbitrary<unknown> => {
      switch (t) {
        case ValueType.STRING:
          return fc.string({ unit: 'binary' })
        case ValueType.BYTES:
          return fc.uint8Array({ maxLength: 20 })
        case ValueType.INT32:
          return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
        case ValueType.INT64:
          return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
        default:
          return fc.integer({ min: -8.64e12, max: 8.64e12 })
      }
    }
    const specs = fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 8 }), { minLength: 1, maxLength: 4 }).chain((names) =>
      fc.tuple(...names.map((name) => keyType.chain((t) => fc.tuple(fc.constant({ name, valueType: t }), valueFor(t))))),
    )
    fc.assert(
      fc.property(specs, fc.constantFrom<EntityKeyVersion>(2, 3), (pairs, version) => {
        const keys = pairs.map(([spec]) => spec)
        const values = pairs.map(([, v]) => v)
        const bytes = createEntityKeyEncoder(keys, version).encode(values)
        const parsed = parseEntityKey(
          Buffer.concat([bytes, Buffer.from('proj')]),
          version,
          keys.map((k) => k.name),
        )
        expect(parsed.end).toBe(bytes.length)
        const sorted = keys
          .map((k, i) => ({ k, v: values[i] }))
          .sort((a, b) => Buffer.compare(Buffer.from(a.k.name), Buffer.from(b.k.name)))
        expect(parsed.joinKeys).toEqual(sorted.map((s) => s.k.name))
        expect(parsed.valueTypes).toEqual(sorted.map((s) => s.k.valueType))
        parsed.values.forEach((got, i) => {
          const { k, v } = sorted[i]!
          if (k.valueType === ValueType.UNIX_TIMESTAMP) expect(got).toEqual(new Date((v as number) * 1000))
          else if (k.valueType === ValueType.BYTES) expect(hex(got as Uint8Array)).toBe(hex(v as Uint8Array))
          else expect(got).toEqual(v)
        })
      }),
    )
  })
})
