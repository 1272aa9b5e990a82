/**
 * MurmurHash3 x86_32, the hash Feast uses for Redis hash field names (`helpers._mmh3`, Python
 * `mmh3.hash(key, signed=False)`, Go `spaolacci/murmur3`, Guava `murmur3_32`).
 *
 * Hand-written because no maintained npm package does exactly this over raw bytes; it only runs
 * when read/write plans are compiled, so clarity wins over micro-optimisation.
 */

const C1 = 0xcc9e2d51
const C2 = 0x1b873593

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

function mixK(k: number): number {
  return Math.imul(rotl32(Math.imul(k, C1), 15), C2)
}

/** MurmurHash3 x86_32 of `bytes`; returns the hash as an unsigned 32-bit integer. */
export function murmur3x86_32(bytes: Uint8Array, seed = 0): number {
  const length = bytes.length
  const blockEnd = length & ~3
  let h = seed | 0
  let i = 0
  for (; i < blockEnd; i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)
    h ^= mixK(k)
    h = rotl32(h, 13)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const tail = length & 3
  if (tail !== 0) {
    let k = bytes[i]!
    if (tail >= 2) k |= bytes[i + 1]! << 8
    if (tail === 3) k |= bytes[i + 2]! << 16
    h ^= mixK(k)
  }
  // The reference mixes in the length as a 32-bit value; inputs past 4 GiB wrap the same way.
  h ^= length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The Redis hash field holding feature `feature` of view `view`: murmur3 of the UTF-8 of
 * `view:feature`, as 4 little-endian bytes. `view` is the stored view name (Feast writes
 * `<name>_v<N>` for versioned views), never a feature-service alias.
 */
export function featureFieldKey(view: string, feature: string): Buffer {
  // Not allocUnsafe: these keys live as long as a compiled plan and must not pin a pool slab.
  const out = Buffer.alloc(4)
  out.writeUInt32LE(murmur3x86_32(Buffer.from(`${view}:${feature}`, 'utf8')), 0)
  return out
}
