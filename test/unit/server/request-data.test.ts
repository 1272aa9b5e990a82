import { describe, expect, it } from 'vitest'
import type { FieldSpec } from '../../../src/definitions/specs.js'
import { MorselError } from '../../../src/errors/index.js'
import { coerceRequestData } from '../../../src/server/request-data.js'
import { ValueType } from '../../../src/types/value-type.js'

const field = (name: string, dtype: string, valueType: number): FieldSpec => ({ name, dtype, valueType, description: '', tags: {} })
const columnsOf = (cols: Record<string, unknown[]>) => ({ names: Object.keys(cols), columns: new Map(Object.entries(cols)), rowCount: Object.values(cols)[0]!.length })
const applied = field('applied_at', 'UnixTimestamp', ValueType.UNIX_TIMESTAMP)

describe('request data times', () => {
  it('reads numbers as epoch seconds and RFC 3339 text as given', () => {
    const out = coerceRequestData([applied], columnsOf({ applied_at: [1_705_276_800, '2024-01-15T00:00:00Z'] }))
    expect(out.columns.get('applied_at')).toEqual([new Date('2024-01-15T00:00:00Z'), new Date('2024-01-15T00:00:00Z')])
  })

  it('refuses a number that can only be milliseconds, naming the field, the row and the unit', () => {
    let caught: unknown
    try {
      coerceRequestData([applied], columnsOf({ applied_at: [1_705_276_800, 1_705_276_800_000] }))
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(MorselError)
    expect((caught as MorselError).code).toBe('MORSEL_VALUE_INVALID')
    expect((caught as MorselError).message).toMatch(/'applied_at' in row 1 .*epoch seconds.*as milliseconds it would be 2024-01-15T00:00:00\.000Z/)
  })
})
