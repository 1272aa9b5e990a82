import { MorselError } from '../errors/index.js'
import { ENTITY_KEY_VALUE_TYPES, ValueType, type ValueTypeCode } from '../types/value-type.js'
import { describeReceived, dtypeName, expectedForm, isWellFormed, loneSurrogateIndex } from './describe.js'
import { asInt64, int64Problem } from './wire.js'

/**
 * Feast's entity key bytes (`serialize_entity_key`, `sdk/python/feast/infra/key_encoding_utils.py`),
 * without the project name that Redis keys append.
 *
 *   v3: u32 N · (u32 2 · u32 len · name)×N · (u32 type · u32 len · value)×N
 *   v2:         (u32 2 · name)×N           · (u32 type · u32 len · value)×N
 *
 * Names are sorted by their UTF-8 bytes and the values follow that order. All integers are
 * little-endian.
 */

/** v2 is what the Feast credit-scoring tutorial configures; v3 is Feast's default. v0/v1 are never written. */
export type EntityKeyVersion = 2 | 3

export interface JoinKeySpec {
  readonly name: string
  /** The entity's declared type; one of `ENTITY_KEY_VALUE_TYPES`. It decides the bytes (Int32 vs Int64). */
  readonly valueType: ValueTypeCode
}

export interface EntityKeyEncoder {
  /** The join keys in the order the caller gave them, which is also the order `encode` takes values in. */
  readonly joinKeys: readonly JoinKeySpec[]
  readonly version: EntityKeyVersion
  /** Serializes one entity; `values[i]` belongs to `joinKeys[i]`. */
  encode(values: readonly unknown[]): Buffer
}

export type EntityKeyScalar = string | number | bigint | Uint8Array | Date

export interface ParsedEntityKey {
  /** In stored (sorted) order. */
  joinKeys: string[]
  /** INT64 as bigint (exact), INT32 as number, UNIX_TIMESTAMP as Date, BYTES as a fresh Uint8Array. */
  values: EntityKeyScalar[]
  valueTypes: ValueTypeCode[]
  /** Offset just past the key: where the project name starts in a Redis key. */
  end: number
}

const NAME_TYPE = ValueType.STRING
const INT32_MIN = -2147483648
const INT32_MAX = 2147483647
const TWO_32 = 4294967296

function definitionError(message: string, details: Record<string, unknown>): MorselError {
  return new MorselError('MORSEL_DEFINITION_INVALID', message, { details })
}

function checkVersion(version: number): void {
  if (version !== 2 && version !== 3) {
    throw definitionError(
      `entity_key_serialization_version ${String(version)} is not supported; use 3 (Feast's default) or 2 ` +
        '(what older feature_store.yaml files set).',
      { version },
    )
  }
}

function byUtf8(a: { bytes: Buffer }, b: { bytes: Buffer }): number {
  return Buffer.compare(a.bytes, b.bytes)
}

/** The names part of a key (`serialize_entity_key_prefix`); for v3 also the SCAN prefix of a join-key set. */
export function entityKeyPrefix(joinKeyNames: readonly string[], version: EntityKeyVersion): Buffer {
  checkVersion(version)
  const names = joinKeyNames.map((name) => Buffer.from(name, 'utf8')).sort((a, b) => Buffer.compare(a, b))
  return buildPrefix(names, version)
}

function buildPrefix(sortedNames: readonly Buffer[], version: EntityKeyVersion): Buffer {
  const perName = version === 3 ? 8 : 4
  let size = version === 3 ? 4 : 0
  for (const name of sortedNames) size += perName + name.length
  // Not allocUnsafe: the prefix lives as long as the encoder and must not pin a pool slab.
  const out = Buffer.alloc(size)
  let pos = 0
  if (version === 3) pos = out.writeUInt32LE(sortedNames.length, pos)
  for (const name of sortedNames) {
    pos = out.writeUInt32LE(NAME_TYPE, pos)
    if (version === 3) pos = out.writeUInt32LE(name.length, pos)
    pos += name.copy(out, pos)
  }
  return out
}

function keyError(joinKey: string, valueType: number, value: unknown, problem?: string): MorselError {
  const expected = `${dtypeName(valueType)}: ${expectedForm(valueType)}`
  const received = describeReceived(value)
  let advice: string
  if (value === undefined || value === null) {
    advice = 'every join key needs a value; entity keys cannot be null'
  } else if (problem !== undefined) {
    advice = problem
  } else if (valueType === ValueType.STRING && (typeof value === 'number' || typeof value === 'bigint')) {
    advice = `send it as a string: "${String(value)}"`
  } else {
    advice = `send ${expectedForm(valueType)}`
  }
  return new MorselError(
    'MORSEL_ENTITY_KEY_INVALID',
    `Entity key '${joinKey}' expects ${expected}; got ${received}: ${advice}.`,
    { details: { joinKey, expected: dtypeName(valueType), received } },
  )
}

/**
 * Compiles the layout of one join-key set once, so that `encode` only checks and copies values:
 * it runs for every entity of every online read.
 */
export function createEntityKeyEncoder(joinKeys: readonly JoinKeySpec[], version: EntityKeyVersion): EntityKeyEncoder {
  checkVersion(version)
  const seen = new Set<string>()
  for (const spec of joinKeys) {
    if (seen.has(spec.name)) {
      throw definitionError(`Join key '${spec.name}' appears twice; each join key of an entity set must be unique.`, {
        joinKey: spec.name,
      })
    }
    seen.add(spec.name)
    if (!ENTITY_KEY_VALUE_TYPES.includes(spec.valueType)) {
      throw definitionError(
        `Join key '${spec.name}' is declared ${dtypeName(spec.valueType)}, which Feast cannot use in an entity key; ` +
          'declare it as String, Bytes, Int32, Int64 or UnixTimestamp.',
        { joinKey: spec.name, valueType: spec.valueType },
      )
    }
  }
  const callerOrder = Object.freeze(
    joinKeys.map((spec) => Object.freeze({ name: spec.name, valueType: spec.valueType })),
  )
  const sorted = callerOrder
    .map((spec, index) => ({ spec, index, bytes: Buffer.from(spec.name, 'utf8') }))
    .sort(byUtf8)
  const prefix = buildPrefix(sorted.map((s) => s.bytes), version)
  const count = sorted.length
  const sourceIndex = sorted.map((s) => s.index)
  // Plain numbers: the switches below handle the entity-key subset and reject the rest.
  const types: readonly number[] = sorted.map((s) => s.spec.valueType)
  const names = sorted.map((s) => s.spec.name)
  const fixedSize = prefix.length + 8 * count
  // Per-call scratch, reused: encode() is synchronous, so no two calls can interleave.
  const normalized: unknown[] = new Array<unknown>(count)
  const sizes: number[] = new Array<number>(count).fill(0)

  function encode(values: readonly unknown[]): Buffer {
    if (values.length !== count) throw countError(callerOrder, values.length)
    let size = fixedSize
    for (let i = 0; i < count; i++) {
      const value = values[sourceIndex[i]!]
      const type = types[i]!
      let n: number
      switch (type) {
        case ValueType.STRING:
          if (typeof value !== 'string') throw keyError(names[i]!, type, value)
          if (!isWellFormed(value)) {
            throw keyError(
              names[i]!,
              type,
              value,
              `it has an unpaired UTF-16 surrogate at index ${loneSurrogateIndex(value)}, which UTF-8 cannot ` +
                'represent (was the string cut inside an emoji?)',
            )
          }
          normalized[i] = value
          n = Buffer.byteLength(value, 'utf8')
          break
        case ValueType.BYTES:
          if (!(value instanceof Uint8Array)) throw keyError(names[i]!, type, value)
          normalized[i] = value
          n = value.length
          break
        case ValueType.INT32:
          if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
            throw keyError(names[i]!, type, value, int32Problem(value))
          }
          normalized[i] = value
          n = 4
          break
        case ValueType.INT64: {
          const int = asInt64(value)
          if (int === undefined) {
            throw keyError(names[i]!, type, value, value == null ? undefined : int64Problem(value))
          }
          normalized[i] = int
          n = 8
          break
        }
        case ValueType.UNIX_TIMESTAMP:
          normalized[i] = timestampSeconds(names[i]!, value)
          n = 8
          break
        default:
          throw new MorselError('MORSEL_INTERNAL', `Join key type ${type} passed the encoder's creation check.`)
      }
      sizes[i] = n
      size += n
    }

    const out = Buffer.allocUnsafe(size)
    let pos = prefix.copy(out, 0)
    for (let i = 0; i < count; i++) {
      const type = types[i]!
      const n = sizes[i]!
      const value = normalized[i]
      out.writeUInt32LE(type, pos)
      out.writeUInt32LE(n, pos + 4)
      pos += 8
      switch (type) {
        case ValueType.STRING:
          out.write(value as string, pos, n, 'utf8')
          break
        case ValueType.BYTES:
          out.set(value as Uint8Array, pos)
          break
        case ValueType.INT32:
          out.writeInt32LE(value as number, pos)
          break
        default:
          writeInt64LE(out, pos, value as number | bigint)
      }
      pos += n
      // Drop references to caller data so the scratch does not keep it alive.
      normalized[i] = undefined
    }
    return out
  }

  return Object.freeze({ joinKeys: callerOrder, version, encode })
}

function countError(joinKeys: readonly JoinKeySpec[], received: number): MorselError {
  const expected = joinKeys.map((k) => k.name)
  if (received < joinKeys.length) {
    const missing = expected.slice(received)
    return new MorselError(
      'MORSEL_ENTITY_KEY_INVALID',
      `Entity key '${missing[0]}' has no value: got ${received} value${received === 1 ? '' : 's'} for ` +
        `${expected.length} join keys; pass one value per join key, in the order [${expected.join(', ')}].`,
      { details: { joinKey: missing[0], joinKeys: expected, received } },
    )
  }
  return new MorselError(
    'MORSEL_ENTITY_KEY_INVALID',
    `Got ${received} entity key values but the entity has ${expected.length} join key` +
      `${expected.length === 1 ? '' : 's'} [${expected.join(', ')}]; pass exactly one value per join key.`,
    { details: { joinKeys: expected, received } },
  )
}

function int32Problem(value: unknown): string | undefined {
  if (typeof value !== 'number') return undefined
  if (!Number.isInteger(value)) return 'it is not an integer'
  return 'it is outside the Int32 range; if the IDs can be this large, declare the entity Int64'
}

function timestampSeconds(joinKey: string, value: unknown): number {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw keyError(joinKey, ValueType.UNIX_TIMESTAMP, value, 'the Date is invalid')
    // Floor, not truncate: a time before 1970 with a fraction belongs to the earlier second.
    return Math.floor(ms / 1000)
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value
  const problem = typeof value === 'number' ? 'seconds must be a safe integer (use Math.floor)' : undefined
  throw keyError(joinKey, ValueType.UNIX_TIMESTAMP, value, problem)
}

function writeInt64LE(out: Buffer, pos: number, value: number | bigint): void {
  if (typeof value === 'bigint') {
    out.writeBigInt64LE(value, pos)
    return
  }
  out.writeUInt32LE(value >>> 0, pos)
  out.writeInt32LE(Math.floor(value / TWO_32), pos + 4)
}

/** One-off serialization; hot paths should keep an encoder from `createEntityKeyEncoder`. */
export function serializeEntityKey(
  joinKeys: readonly JoinKeySpec[],
  values: readonly unknown[],
  version: EntityKeyVersion,
): Buffer {
  return createEntityKeyEncoder(joinKeys, version).encode(values)
}

function parseError(what: string): MorselError {
  return new MorselError(
    'MORSEL_ENTITY_KEY_INVALID',
    `These bytes are not a Feast entity key: ${what}. Check that the entity_key_serialization_version ` +
      'and the join keys match the ones the data was written with.',
  )
}

/**
 * Reads an entity key back, e.g. to check that a Redis key found by SCAN really is
 * `<entity key><project>` before deleting it. v3 keys are self-delimiting; v2 keys store names
 * without lengths, so `joinKeyNames` (any order) is required. When given, the stored names must
 * equal them.
 */
export function parseEntityKey(
  bytes: Uint8Array,
  version: EntityKeyVersion,
  joinKeyNames?: readonly string[],
): ParsedEntityKey {
  checkVersion(version)
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const expected = joinKeyNames?.map((name) => Buffer.from(name, 'utf8')).sort((a, b) => Buffer.compare(a, b))
  let pos = 0
  const u32 = (what: string): number => {
    if (pos + 4 > buf.length) throw parseError(`the data ends inside the ${what}`)
    const v = buf.readUInt32LE(pos)
    pos += 4
    return v
  }

  let count: number
  if (version === 3) {
    count = u32('join key count')
    // Each join key takes at least 16 bytes (name header + value header): a cheap bound on garbage.
    if (count > (buf.length - pos) / 16) throw parseError(`it claims ${count} join keys, more than fit in the data`)
    if (expected !== undefined && count !== expected.length) {
      throw parseError(`it has ${count} join keys, not ${expected.length}`)
    }
  } else {
    if (expected === undefined) {
      throw new MorselError(
        'MORSEL_USAGE',
        'parseEntityKey needs the join key names for version 2 keys, which do not store name lengths.',
      )
    }
    count = expected.length
  }

  const joinKeys: string[] = []
  for (let i = 0; i < count; i++) {
    if (u32('name type') !== NAME_TYPE) throw parseError(`join key name ${i + 1} is not tagged as a string`)
    let length: number
    if (version === 3) {
      length = u32('name length')
    } else {
      length = expected![i]!.length
    }
    if (pos + length > buf.length) throw parseError(`the data ends inside join key name ${i + 1}`)
    const name = buf.subarray(pos, pos + length)
    const want = expected?.[i]
    if (want !== undefined && !want.equals(name)) {
      const got = JSON.stringify(name.toString('utf8'))
      throw parseError(`join key name ${i + 1} is ${got}, not ${JSON.stringify(want.toString('utf8'))}`)
    }
    joinKeys.push(name.toString('utf8'))
    pos += length
  }

  const values: EntityKeyScalar[] = []
  const valueTypes: ValueTypeCode[] = []
  for (let i = 0; i < count; i++) {
    const type = u32('value type')
    const length = u32('value length')
    if (pos + length > buf.length) throw parseError(`the data ends inside the value of '${joinKeys[i]}'`)
    const fixed = type === ValueType.INT32 ? 4 : type === ValueType.INT64 || type === ValueType.UNIX_TIMESTAMP ? 8 : -1
    if (fixed !== -1 && length !== fixed) {
      throw parseError(`the ${dtypeName(type)} value of '${joinKeys[i]}' is ${length} bytes, not ${fixed}`)
    }
    switch (type) {
      case ValueType.STRING:
        values.push(buf.toString('utf8', pos, pos + length))
        break
      case ValueType.BYTES:
        values.push(new Uint8Array(buf.subarray(pos, pos + length)))
        break
      case ValueType.INT32:
        values.push(buf.readInt32LE(pos))
        break
      case ValueType.INT64:
        values.push(buf.readBigInt64LE(pos))
        break
      case ValueType.UNIX_TIMESTAMP:
        values.push(new Date(Number(buf.readBigInt64LE(pos)) * 1000))
        break
      default:
        throw parseError(`the value of '${joinKeys[i]}' has type code ${type}, which entity keys cannot hold`)
    }
    valueTypes.push(type)
    pos += length
  }
  return { joinKeys, values, valueTypes, end: pos }
}
