import { entityKeyPrefix, featureFieldKey, parseEntityKey, type EntityKeyVersion } from '../../encoding/index.js'

/**
 * Feast's Redis layout (feast-internals §1), in bytes:
 *
 *   key    serialized entity key ‖ UTF-8 project name          one hash per entity and project,
 *                                                              shared by every view keyed alike
 *   field  murmur3_x86_32("<view>:<feature>") as 4 LE bytes  → Value protobuf ("" for null)
 *   field  "_ts:<view>"                                       → google.protobuf.Timestamp
 */
export class RedisKeyLayout {
  readonly project: string
  /** The project name's bytes: the suffix of every key of this project. */
  readonly suffix: Buffer
  readonly version: EntityKeyVersion

  constructor(project: string, version: EntityKeyVersion) {
    this.project = project
    this.suffix = Buffer.from(project, 'utf8')
    this.version = version
  }

  /** The Redis key of a serialized entity key. */
  key(entityKey: Uint8Array): Buffer {
    const suffix = this.suffix
    const out = Buffer.allocUnsafe(entityKey.length + suffix.length)
    out.set(entityKey, 0)
    out.set(suffix, entityKey.length)
    return out
  }

  /**
   * A SCAN MATCH pattern for the keys of one join-key set in this project. Every byte of the
   * prefix and the project is escaped, so a name length of 42 (`*`) or a `[` in a name is taken
   * literally; the pattern still matches projects whose name ends with this one (`*local`
   * matches `…credit_scoring_local`), so every match must pass `owns` before it is touched.
   */
  scanPattern(joinKeys: readonly string[]): Buffer {
    return Buffer.concat([escapeGlob(entityKeyPrefix(joinKeys, this.version)), Buffer.from('*'), escapeGlob(this.suffix)])
  }

  /** A SCAN MATCH pattern for every key ending with this project's name (`owns` decides). */
  projectPattern(): Buffer {
    return Buffer.concat([Buffer.from('*'), escapeGlob(this.suffix)])
  }

  /**
   * Whether `key` is exactly `<an entity key of these join keys> ‖ <this project>`: the entity key
   * is parsed (v3 keys carry their lengths; for v2 the join-key names fix them) and the rest must
   * equal the project name, byte for byte.
   */
  owns(key: Buffer, joinKeys: readonly string[]): boolean {
    if (key.length <= this.suffix.length) return false
    try {
      const parsed = parseEntityKey(key, this.version, joinKeys)
      return parsed.end === key.length - this.suffix.length && key.subarray(parsed.end).equals(this.suffix)
    } catch {
      return false
    }
  }
}

/** `_ts:<view>`, the field holding a view's event time. */
export function timestampField(view: string): Buffer {
  return Buffer.from(`_ts:${view}`, 'utf8')
}

/** The hash fields of a view's features, in order. */
export function featureFields(view: string, features: readonly string[]): Buffer[] {
  return features.map((f) => featureFieldKey(view, f))
}

const GLOB_SPECIAL = new Set([0x2a /* * */, 0x3f /* ? */, 0x5b /* [ */, 0x5d /* ] */, 0x5c /* \ */])

/** Escapes Redis glob metacharacters with a backslash, byte by byte (binary-safe). */
export function escapeGlob(bytes: Uint8Array): Buffer {
  let special = 0
  for (const b of bytes) if (GLOB_SPECIAL.has(b)) special++
  const out = Buffer.allocUnsafe(bytes.length + special)
  let pos = 0
  for (const b of bytes) {
    if (GLOB_SPECIAL.has(b)) out[pos++] = 0x5c
    out[pos++] = b
  }
  return out
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!
  return crc
}

/**
 * The cluster hash slot of a key (CRC16/XMODEM mod 16384, honouring a `{hash tag}` as Redis does).
 * Feast keys carry no tag on purpose, but an entity key may contain `{` and `}` bytes, so the tag
 * rule is applied exactly as the server applies it.
 */
export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b)
  if (open !== -1) {
    const close = key.indexOf(0x7d, open + 1)
    if (close !== -1 && close > open + 1) return crc16(key, open + 1, close) & 16383
  }
  return crc16(key, 0, key.length) & 16383
}
