import { describe, expect, it } from 'vitest'
import { isMorselError } from '../../../src/errors/index.js'
import { FieldStatus } from '../../../src/serving/field-status.js'
import { OnlineResponse } from '../../../src/serving/online-response.js'

const response = (): OnlineResponse =>
  new OnlineResponse(
    ['zipcode', 'city'],
    2,
    [
      [76104, 10001],
      ['FORT WORTH', null],
    ],
    [new Uint8Array([FieldStatus.PRESENT, FieldStatus.PRESENT]), new Uint8Array([FieldStatus.PRESENT, FieldStatus.NOT_FOUND])],
    [new Float64Array(2), new Float64Array([1_705_276_800_000_000, 0])],
    1,
  )

function thrown(f: () => unknown): unknown {
  try {
    f()
  } catch (err) {
    return err
  }
  return undefined
}

describe('OnlineResponse accessors', () => {
  it('read a value, status and event time by column name and row', () => {
    const r = response()
    expect([r.value('city', 0), r.status('city', 1), r.eventTime('city', 0)]).toEqual(['FORT WORTH', 'NOT_FOUND', new Date('2024-01-15T00:00:00Z')])
  })

  it('refuse an unknown column with MORSEL_USAGE naming the columns there are and the closest one', () => {
    const err = thrown(() => response().value('cty'))
    expect(isMorselError(err, 'MORSEL_USAGE')).toBe(true)
    expect((err as Error).message).toContain("No column 'cty' in this response; it has zipcode, city.")
    expect((err as Error).message).toContain("Did you mean 'city'?")
  })

  it('refuse a row outside the response instead of answering as if the value were missing', () => {
    const r = response()
    for (const [row, read] of [
      [2, () => r.value('city', 2)],
      [-1, () => r.status('city', -1)],
      [0.5, () => r.eventTime('city', 0.5)],
    ] as const) {
      const err = thrown(read)
      expect(isMorselError(err, 'MORSEL_USAGE')).toBe(true)
      expect((err as Error).message).toBe(`Row ${row} is not in this response: it has 2 rows (0 to 1), one per entity row of the request, in order.`)
    }
  })
})
