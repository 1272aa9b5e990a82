/**
 * Hash field name → cell, for sorting an HGETALL reply into a compiled read's cells: one lookup
 * per field of every entity read, so it avoids what a `Map` would cost here (a string or a heap
 * number made from each field's bytes). Open addressing over 32-bit keys: a feature field is a
 * murmur3 hash already (its 4 bytes are the key), any other field (`_ts:<view>`) is keyed by its
 * FNV-1a hash; a hit is confirmed by comparing the bytes.
 */
export class FieldIndex {
  readonly #keys: Int32Array
  /** Cell + 1 per slot; 0 marks an empty slot. */
  readonly #cells: Int32Array
  readonly #fields: Uint8Array[] = []
  readonly #mask: number

  constructor(fields: readonly Uint8Array[]) {
    let size = 8
    while (size < fields.length * 4) size *= 2
    this.#keys = new Int32Array(size)
    this.#cells = new Int32Array(size)
    this.#mask = size - 1
    // A field listed twice keeps its last cell, as a Map would.
    fields.forEach((field, cell) => this.#insert(field, cell))
  }

  /** The cell of `field`, or -1 when the read does not want it. */
  get(field: Uint8Array): number {
    const n = field.length
    const key = n === 4 ? field[0]! | (field[1]! << 8) | (field[2]! << 16) | (field[3]! << 24) : fnv1a(field)
    const keys = this.#keys
    const cells = this.#cells
    const mask = this.#mask
    for (let slot = (key ^ (key >>> 16)) & mask; ; slot = (slot + 1) & mask) {
      const at = cells[slot]!
      if (at === 0) return -1
      if (keys[slot] === key) {
        // Equal keys of 4-byte fields are equal fields; longer ones are compared.
        const known = this.#fields[at - 1]!
        if (known.length === n && (n === 4 || sameBytes(known, field))) return at - 1
      }
    }
  }

  #insert(field: Uint8Array, cell: number): void {
    const key = fieldKey(field)
    const mask = this.#mask
    for (let slot = mix(key) & mask; ; slot = (slot + 1) & mask) {
      const at = this.#cells[slot]!
      if (at === 0 || (this.#keys[slot] === key && sameBytes(this.#fields[at - 1]!, field))) {
        this.#keys[slot] = key
        this.#fields[cell] = field
        this.#cells[slot] = cell + 1
        return
      }
    }
  }
}

function fieldKey(field: Uint8Array): number {
  return field.length === 4 ? field[0]! | (field[1]! << 8) | (field[2]! << 16) | (field[3]! << 24) : fnv1a(field)
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5 | 0
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return h
}

/** Spreads the high bits into the low ones the mask keeps. */
function mix(key: number): number {
  return key ^ (key >>> 16)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length
  if (n !== b.length) return false
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}
