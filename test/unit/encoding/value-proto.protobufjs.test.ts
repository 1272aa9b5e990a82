import fc from 'fast-check'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { decodeValue, encodeValue, valueTypeOfEncoded } from '../../../src/encoding/index.js'
import { ValueType, type ValueTypeCode } from '../../../src/types/value-type.js'
import { hex } from './spec-bytes.js'

/**
 * Cross-check against protobufjs as an independent protobuf implementation, with feast.types.Value
 * written out from the field table in feast-internals.md §1.5. Two schemas: proto3's default
 * packed encoding (what Feast writes) and the same messages with `[packed = false]`, which a
 * conformant reader must also accept.
 */

const SCALARS = [
  ['Bytes', 'bytes'],
  ['String', 'string'],
  ['Int32', 'int32'],
  ['Int64', 'int64'],
  ['Double', 'double'],
  ['Float', 'float'],
  ['Bool', 'bool'],
] as const

const VALUE_FIELDS = `
    bytes bytes_val = 1;
    string string_val = 2;
    int32 int32_val = 3;
    int64 int64_val = 4;
    double double_val = 5;
    float float_val = 6;
    bool bool_val = 7;
    int64 unix_timestamp_val = 8;
    BytesList bytes_list_val = 11;
    StringList string_list_val = 12;
    Int32List int32_list_val = 13;
    Int64List int64_list_val = 14;
    DoubleList double_list_val = 15;
    FloatList float_list_val = 16;
    BoolList bool_list_val = 17;
    Int64List unix_timestamp_list_val = 18;
    Null null_val = 19;
    BytesSet bytes_set_val = 22;
    StringSet string_set_val = 23;
    Int32Set int32_set_val = 24;
    Int64Set int64_set_val = 25;
    DoubleSet double_set_val = 26;
    FloatSet float_set_val = 27;
    BoolSet bool_set_val = 28;
    Int64Set unix_timestamp_set_val = 29;
    string json_val = 32;
    string uuid_val = 36;
    string time_uuid_val = 37;
    string decimal_val = 44;`

function valueProto(pkg: string, packed: boolean): string {
  const wrappers = SCALARS.flatMap(([name, type]) => {
    const option = !packed && type !== 'string' && type !== 'bytes' ? ' [packed = false]' : ''
    return [
      `message ${name}List { repeated ${type} val = 1${option}; }`,
      `message ${name}Set { repeated ${type} val = 1${option}; }`,
    ]
  })
  return [
    'syntax = "proto3";',
    `package ${pkg};`,
    ...wrappers,
    'enum Null { NULL = 0; }',
    `message Value { oneof val {${VALUE_FIELDS}\n  } }`,
  ].join('\n')
}

const packedValue = protobuf.parse(valueProto('feast.types', true), { keepCase: true }).root.lookupType('feast.types.Value')
const unpackedValue = protobuf.parse(valueProto('unpacked', false), { keepCase: true }).root.lookupType('unpacked.Value')

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, arrays: true, oneofs: true }

/** Bytes compare by content whatever their class (Buffer vs Uint8Array). */
function canon(x: unknown): unknown {
  if (x instanceof Uint8Array) return `hex:${hex(x)}`
  if (Array.isArray(x)) return x.map(canon)
  if (x !== null && typeof x === 'object' && !(x instanceof Date)) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, canon(v)]))
  }
  return x
}

/**
 * One generated case: what Morsel is given, the same value as a protobufjs object (int64 as
 * decimal strings, floats already rounded to float32), and what decodeValue must return.
 */
interface Case {
  input: unknown
  pb: unknown
  decoded: unknown
}

const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
// Safe integers, and the boundaries where varint lengths and the int64 halves change.
const INT64_INTERESTING = fc.oneof(
  INT64,
  fc.maxSafeInteger().map(BigInt),
  fc.constantFrom(0n, -1n, 127n, 128n, 2n ** 31n, -(2n ** 31n), 2n ** 32n, -(2n ** 32n), 2n ** 53n, -(2n ** 63n)),
)
const MAX_SECONDS = 8.64e12 - 1

const scalarCases: Record<number, fc.Arbitrary<Case>> = {
  [ValueType.BYTES]: fc.uint8Array({ maxLength: 40 }).map((b) => ({ input: b, pb: b, decoded: b })),
  [ValueType.STRING]: fc.string({ unit: 'binary', maxLength: 30 }).map((s) => ({ input: s, pb: s, decoded: s })),
  [ValueType.INT32]: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => ({ input: n, pb: n, decoded: n })),
  [ValueType.INT64]: fc.tuple(INT64_INTERESTING, fc.constantFrom('number', 'bigint', 'string')).map(([n, form]) => {
    const safe = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    const input = form === 'number' && safe ? Number(n) : form === 'string' ? n.toString() : n
    // Beyond 2^53 decodeValue returns the nearest double, which is what Number(bigint) gives.
    return { input, pb: n.toString(), decoded: Number(n) }
  }),
  [ValueType.DOUBLE]: fc.double().map((d) => ({ input: d, pb: d, decoded: d })),
  [ValueType.FLOAT]: fc.oneof(fc.float(), fc.double()).map((d) => ({ input: d, pb: Math.fround(d), decoded: Math.fround(d) })),
  [ValueType.BOOL]: fc.boolean().map((b) => ({ input: b, pb: b, decoded: b })),
  [ValueType.UNIX_TIMESTAMP]: fc
    .tuple(fc.integer({ min: -MAX_SECONDS, max: MAX_SECONDS }), fc.integer({ min: 0, max: 999 }), fc.boolean())
    .map(([seconds, ms, asDate]) => ({
      input: asDate ? new Date(seconds * 1000 + ms) : seconds,
      pb: String(seconds),
      decoded: new Date(seconds * 1000),
    })),
}

const FIELD_OF: Record<number, string> = {
  [ValueType.BYTES]: 'bytes',
  [ValueType.STRING]: 'string',
  [ValueType.INT32]: 'int32',
  [ValueType.INT64]: 'int64',
  [ValueType.DOUBLE]: 'double',
  [ValueType.FLOAT]: 'float',
  [ValueType.BOOL]: 'bool',
  [ValueType.UNIX_TIMESTAMP]: 'unix_timestamp',
}

const SCALAR_TYPES = Object.keys(FIELD_OF).map(Number) as ValueTypeCode[]

function listCase(element: ValueTypeCode): fc.Arbitrary<Case> {
  return fc.array(scalarCases[element]!, { maxLength: 12 }).map((items) => ({
    input: items.map((c) => c.input),
    pb: { val: items.map((c) => c.pb) },
    decoded: items.map((c) => c.decoded),
  }))
}

describe('encodeValue agrees with protobufjs', () => {
  for (const type of SCALAR_TYPES) {
    const field = `${FIELD_OF[type]}_val`
    it(`${field}: same bytes, and protobufjs reads back the value`, () => {
      fc.assert(
        fc.property(scalarCases[type]!, ({ input, pb }) => {
          const ours = encodeValue(input, type)
          const reference = packedValue.encode(packedValue.fromObject({ [field]: pb })).finish()
          expect(hex(ours)).toBe(hex(reference))
          expect(canon(packedValue.toObject(packedValue.decode(ours), TO_OBJECT))).toEqual(canon({ [field]: pb, val: field }))
        }),
      )
    })

    const listType = (type + 10) as ValueTypeCode
    const listField = `${FIELD_OF[type]}_list_val`
    it(`${listField}: same bytes, and protobufjs reads back the list`, () => {
      fc.assert(
        fc.property(listCase(type), ({ input, pb }) => {
          const ours = encodeValue(input, listType)
          const reference = packedValue.encode(packedValue.fromObject({ [listField]: pb })).finish()
          expect(hex(ours)).toBe(hex(reference))
          expect(canon(packedValue.toObject(packedValue.decode(ours), TO_OBJECT))).toEqual(canon({ [listField]: pb, val: listField }))
        }),
      )
    })
  }
})

describe('decodeValue reads what protobufjs writes', () => {
  for (const type of SCALAR_TYPES) {
    const field = `${FIELD_OF[type]}_val`
    it(`${field}`, () => {
      fc.assert(
        fc.property(scalarCases[type]!, ({ pb, decoded }) => {
          const bytes = packedValue.encode(packedValue.fromObject({ [field]: pb })).finish()
          expect(canon(decodeValue(bytes))).toEqual(canon(decoded))
          expect(valueTypeOfEncoded(bytes)).toBe(type)
        }),
      )
    })

    const listField = `${FIELD_OF[type]}_list_val`
    const setField = `${FIELD_OF[type]}_set_val`
    it(`${listField} and ${setField}, packed and unpacked`, () => {
      fc.assert(
        fc.property(listCase(type), ({ pb, decoded }) => {
          for (const schema of [packedValue, unpackedValue]) {
            for (const f of [listField, setField]) {
              const bytes = schema.encode(schema.fromObject({ [f]: pb })).finish()
              expect(canon(decodeValue(bytes))).toEqual(canon(decoded))
            }
          }
        }),
      )
    })
  }

  it('unpacked lists really are encoded differently from packed ones', () => {
    const pb = { int64_list_val: { val: ['1', '2'] } }
    const packed = packedValue.encode(packedValue.fromObject(pb)).finish()
    const unpacked = unpackedValue.encode(unpackedValue.fromObject(pb)).finish()
    expect(hex(packed)).toBe('72040a020102')
    expect(hex(unpacked)).toBe('720408010802')
  })

  it('string-valued members (json, uuid, time_uuid, decimal)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('json_val', 'uuid_val', 'time_uuid_val', 'decimal_val'),
        fc.string({ unit: 'binary' }),
        (field, text) => {
          expect(decodeValue(packedValue.encode(packedValue.fromObject({ [field]: text })).finish())).toBe(text)
        },
      ),
    )
  })

  it('null_val', () => {
    const bytes = packedValue.encode(packedValue.fromObject({ null_val: 'NULL' })).finish()
    expect(hex(bytes)).toBe('980100')
    expect(decodeValue(bytes)).toBeNull()
  })
})
