import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { featureFieldKey } from '../../../src/encoding/index.js'
import { FieldIndex } from '../../../src/online/redis/field-index.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')

describe('FieldIndex', () => {
  it('finds the cell of every feature and timestamp field, and nothing else', () => {
    const fields = [...['a', 'b', 'c'].map((f) => featureFieldKey('view', f)), b('_ts:view'), b('_ts:view2')]
    const index = new FieldIndex(fields)
    fields.forEach((f, cell) => expect(index.get(Buffer.from(f))).toBe(cell))
    expect(index.get(featureFieldKey('view', 'd'))).toBe(-1)
    expect(index.get(b('_ts:view3'))).toBe(-1)
    expect(index.get(b('_ts:vie'))).toBe(-1)
    expect(index.get(b(''))).toBe(-1)
  })

  it('tells apart fields whose keys collide: a 4-byte field equal to a longer field hash, and long fields of one key', () => {
    // FNV-1a of '_ts:x' as 4 little-endian bytes: the same 32-bit key as the long field.
    let h = 0x811c9dc5 | 0
    for (const c of b('_ts:x')) h = Math.imul(h ^ c, 0x01000193)
    const four = Buffer.alloc(4)
    four.writeInt32LE(h)
    const index = new FieldIndex([b('_ts:x'), four])
    expect(index.get(b('_ts:x'))).toBe(0)
    expect(index.get(four)).toBe(1)
  })

  it('keeps the last cell of a field listed twice', () => {
    const f = featureFieldKey('v', 'f')
    expect(new FieldIndex([f, b('_ts:v'), f]).get(f)).toBe(2)
  })

  it('answers like a Map of the field bytes, for random field sets', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.uint8Array({ minLength: 0, maxLength: 12 }), { minLength: 0, maxLength: 300, selector: (u) => Buffer.from(u).toString('hex') }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 12 }), { maxLength: 50 }),
        (fields, probes) => {
          const index = new FieldIndex(fields)
          const reference = new Map(fields.map((f, cell) => [Buffer.from(f).toString('hex'), cell]))
          for (const f of [...fields, ...probes]) expect(index.get(f)).toBe(reference.get(Buffer.from(f).toString('hex')) ?? -1)
        },
      ),
    )
  })
})
