import { describe, expect, it } from 'vitest'
import { featureFieldKey, murmur3x86_32 } from '../../../src/encoding/index.js'
import { hex, specBytes } from './spec-bytes.js'

// feast-internals.md §1.11, "Hash fields": string, uint32, field bytes as the spec prints them.
const SPEC_FIELDS: ReadonlyArray<readonly [string, number, string]> = [
  ['zipcode_features:city', 0x0cb077b7, 'b7 77 b0 0c'],
  ['zipcode_features:state', 0x6f07f932, '32 f9 07 6f'],
  ['zipcode_features:location_type', 0x266dbe09, '09 be 6d 26'],
  ['zipcode_features:tax_returns_filed', 0x9dff1a84, '84 1a ff 9d'],
  ['zipcode_features:population', 0x910d9557, '57 95 0d 91'],
  ['zipcode_features:total_wages', 0xe6e8f7f9, 'f9 f7 e8 e6'],
  ['credit_history:credit_card_due', 0x8f4000b7, 'b7 00 40 8f'],
  ['credit_history:mortgage_due', 0x405e2ed6, 'd6 2e 5e 40'],
  ['credit_history:student_loan_due', 0xa09f8062, '62 80 9f a0'],
  ['credit_history:vehicle_loan_due', 0x6e422456, '56 24 42 6e'],
  ['credit_history:hard_pulls', 0x3fc896d4, 'd4 96 c8 3f'],
  ['credit_history:missed_payments_2y', 0xf38ffdf5, 'f5 fd 8f f3'],
  ['credit_history:missed_payments_1y', 0x6d55e1b4, 'b4 e1 55 6d'],
  ['credit_history:missed_payments_6m', 0xd4f9da25, '25 da f9 d4'],
  ['credit_history:bankruptcies', 0x3bee3cf0, 'f0 3c ee 3b'],
  ['person_demographics:person_age', 0x43725ff2, 'f2 5f 72 43'],
  ['person_demographics:person_income', 0xe5586ac9, 'c9 6a 58 e5'],
  ['person_demographics:person_home_ownership', 0x3945226e, '6e 22 45 39'],
  ['person_demographics:person_emp_length', 0x48b07ff1, 'f1 7f b0 48'],
  ['driver_hourly_stats:conv_rate', 0xdae36061, '61 60 e3 da'],
]

/**
 * Published MurmurHash3 x86_32 vectors (smhasher-derived lists; mmh3's README gives
 * mmh3.hash("foo") = -156908512 = 0xf6a5c420 unsigned). Each was also recomputed with an
 * independent Python implementation written from the reference C++, which covers the 1-, 2- and
 * 3-byte tails ("a", "ab", "abc") and the all-ones block.
 */
const STANDARD: ReadonlyArray<readonly [Uint8Array, number, number]> = [
  [Buffer.alloc(0), 0, 0],
  [Buffer.alloc(0), 1, 0x514e28b7],
  [Buffer.alloc(0), 0xffffffff, 0x81f16f39],
  [Buffer.from([0, 0, 0, 0]), 0, 0x2362f9de],
  [Buffer.from('aaaa'), 0x9747b28c, 0x5a97808a],
  [Buffer.from('Hello, world!'), 0x9747b28c, 0x24884cba],
  [Buffer.from('The quick brown fox jumps over the lazy dog'), 0x9747b28c, 0x2fa826cd],
  [Buffer.from('hello'), 0, 0x248bfa47],
  [Buffer.from('foo'), 0, 0xf6a5c420],
  [Buffer.from('a'), 0x9747b28c, 0x7fa09ea6],
  [Buffer.from('ab'), 0x9747b28c, 0x74875592],
  [Buffer.from('abc'), 0, 0xb3dd93fa],
  [Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 0x76293b50],
]

describe('murmur3x86_32', () => {
  it.each(STANDARD)('matches the standard vector %#', (bytes, seed, expected) => {
    expect(murmur3x86_32(bytes, seed)).toBe(expected)
  })

  it('hashes the UTF-8 bytes of the spec field names', () => {
    for (const [text, expected] of SPEC_FIELDS) {
      expect(murmur3x86_32(Buffer.from(text, 'utf8')), text).toBe(expected)
    }
  })

  it('returns an unsigned 32-bit integer', () => {
    // 0xf6a5c420 has the top bit set: a signed result would be negative.
    const h = murmur3x86_32(Buffer.from('foo'))
    expect(h).toBeGreaterThan(0x7fffffff)
    expect(Number.isInteger(h)).toBe(true)
  })

  it('hashes a Uint8Array view at its own offset', () => {
    const backing = Buffer.from('xxhelloyy')
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 5)
    expect(murmur3x86_32(view)).toBe(0x248bfa47)
  })
})

describe('featureFieldKey', () => {
  it.each(SPEC_FIELDS)('%s gives the spec field bytes', (text, _hash, bytes) => {
    const colon = text.indexOf(':')
    expect(hex(featureFieldKey(text.slice(0, colon), text.slice(colon + 1)))).toBe(hex(specBytes(bytes)))
  })

  it('reproduces the Feast repo test vector feature_view_1:feature_10 = b"&m_9"', () => {
    expect(featureFieldKey('feature_view_1', 'feature_10').toString('latin1')).toBe('&m_9')
  })

  it('hashes non-ASCII names as UTF-8', () => {
    // 0x1f24c032 was computed by the independent Python implementation over the UTF-8 bytes of
    // '日本語:😀'; hashing UTF-16 code units would give something else.
    expect(hex(featureFieldKey('日本語', '😀'))).toBe('32c0241f')
  })
})
