import { describe, expect, it } from 'vitest'
import { isMorselError } from '../../../src/errors/index.js'
import { MAX_EPOCH_SECONDS, toEpochMicros, toTimestampValue } from '../../../src/internal/time.js'

const T = '2024-01-15T00:00:00Z'
const T_MS = Date.parse(T)

function thrown(f: () => unknown): Error {
  try {
    f()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error')
}

describe('times given to Morsel', () => {
  it('reads a Date, an ISO string and epoch seconds as the same instant', () => {
    expect(toEpochMicros(new Date(T_MS), 'x')).toBe(T_MS * 1000)
    expect(toEpochMicros(T, 'x')).toBe(T_MS * 1000)
    expect(toEpochMicros('2024-01-15 02:00:00+02:00', 'x')).toBe(T_MS * 1000)
    expect(toEpochMicros(T_MS / 1000, 'x')).toBe(T_MS * 1000)
    // Event times keep fractions of a second down to the microsecond.
    expect(toEpochMicros(T_MS / 1000 + 0.000_25, 'x')).toBe(T_MS * 1000 + 250)
    expect(toEpochMicros(-86_400, 'x')).toBe(-86_400_000_000)
  })

  it('refuses epoch milliseconds where seconds are expected, naming the unit and the fix', () => {
    const err = thrown(() => toEpochMicros(T_MS, "Rows for feature view 'v', row 0: 'event_timestamp'"))
    expect(isMorselError(err, 'MORSEL_VALUE_INVALID')).toBe(true)
    expect(err.message).toContain("'event_timestamp' is 1705276800000")
    expect(err.message).toContain('epoch seconds')
    expect(err.message).toContain(`as milliseconds it would be ${T.replace('Z', '.000Z')}`)
    expect(err.message).toContain('divide by 1000 or pass a Date')
    expect(isMorselError(thrown(() => toEpochMicros(-MAX_EPOCH_SECONDS, 'x')), 'MORSEL_VALUE_INVALID')).toBe(true)
    expect(toEpochMicros(MAX_EPOCH_SECONDS - 1, 'x')).toBe((MAX_EPOCH_SECONDS - 1) * 1_000_000)
  })

  it('refuses what is not a time with the forms it takes', () => {
    for (const bad of ['yesterday', '2024-02-30', NaN, true, null, new Date(NaN)]) {
      const err = thrown(() => toEpochMicros(bad, 'when'))
      expect(isMorselError(err, 'MORSEL_VALUE_INVALID')).toBe(true)
      expect(err.message).toMatch(/^when must be a time: a Date, an ISO 8601 string .* or a number of epoch seconds; got /)
    }
  })

  it('gives UnixTimestamp values to the encoder as a Date or checked seconds', () => {
    expect(toTimestampValue(T, 'f')).toEqual(new Date(T_MS))
    expect(toTimestampValue(1705276800, 'f')).toBe(1705276800)
    const d = new Date(T_MS)
    expect(toTimestampValue(d, 'f')).toBe(d)
    expect(toTimestampValue(null, 'f')).toBeNull()
    const err = thrown(() => toTimestampValue(T_MS, "zipcode_features:opened (row 3)"))
    expect(isMorselError(err, 'MORSEL_VALUE_INVALID')).toBe(true)
    expect(err.message).toContain("zipcode_features:opened (row 3) is 1705276800000")
    expect(isMorselError(thrown(() => toTimestampValue('not a time', 'f')), 'MORSEL_VALUE_INVALID')).toBe(true)
  })
})
