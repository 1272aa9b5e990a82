import { describe, expect, it } from 'vitest'
import type { FeatureViewSpec } from '../../../src/definitions/specs.js'
import { encodeValue, serializeEntityKey } from '../../../src/encoding/index.js'
import { createLatestEncoder } from '../../../src/materialization/encode-latest.js'
import { ValueType } from '../../../src/types/value-type.js'

const field = (name: string, valueType: number) => ({ name, dtype: '', valueType, description: '', tags: {} })
const view: FeatureViewSpec = {
  name: 'v',
  entities: ['driver'],
  entityColumns: [field('driver_id', ValueType.INT64)],
  features: [field('d', ValueType.DOUBLE), field('s', ValueType.STRING), field('l', ValueType.INT64_LIST)],
  ttlSeconds: 0,
  online: true,
  source: 'src',
  description: '',
  tags: {},
  owner: '',
}

describe('createLatestEncoder', () => {
  it('encodes keys, values and event times as the encoding module does, repeated values included', () => {
    const encode = createLatestEncoder(view, 3)
    const d = [0, -0, 0, 1.5, 1.5, null]
    const s = ['a', 'a', 'b', 'a', null, 'b']
    const l = [[1], [1], [], null, [2, 3], [1]]
    const rows = encode({
      names: ['driver_id', 'd', 's', 'l'],
      columns: new Map<string, unknown[]>([['driver_id', [1, 2, 3, 4, 5, 6]], ['d', d], ['s', s], ['l', l]]),
      rowCount: 6,
      eventTimeMicros: Float64Array.from([1, 2, 3, 4, 5, 6]),
    })
    rows.forEach((row, r) => {
      expect(Buffer.from(row.entityKey)).toEqual(serializeEntityKey([{ name: 'driver_id', valueType: ValueType.INT64 }], [r + 1], 3))
      expect(row.eventTimeMicros).toBe(r + 1)
      expect(row.values.map((v) => Buffer.from(v))).toEqual([
        encodeValue(d[r], ValueType.DOUBLE),
        encodeValue(s[r], ValueType.STRING),
        encodeValue(l[r], ValueType.INT64_LIST),
      ])
    })
    // -0 keeps its own bytes even after 0 was seen.
    expect(Buffer.from(rows[1]!.values[0]!)).not.toEqual(Buffer.from(rows[0]!.values[0]!))
  })

  it('names the feature when a value does not fit its type', () => {
    const encode = createLatestEncoder(view, 3)
    expect(() =>
      encode({ names: ['driver_id', 'd', 's', 'l'], columns: new Map<string, unknown[]>([['driver_id', [1]], ['d', ['x']], ['s', ['a']], ['l', [[]]]]), rowCount: 1, eventTimeMicros: Float64Array.from([1]) }),
    ).toThrow(/v:d/)
  })
})
