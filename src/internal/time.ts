import { MorselError } from '../errors/index.js'

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/

/**
 * The one rule for times given to Morsel (docs/guide/concepts.md, "Time"): a Date, an RFC 3339 /
 * ISO 8601 string (also Feast's `2022-05-13 10:59:42+00:00`; no zone means UTC, as Feast treats
 * naive times), or a number of epoch **seconds**, Feast's unit for UNIX_TIMESTAMP values. A bare
 * number cannot say its unit, so one further from 1970 than the year 3000 is refused: it is almost
 * certainly milliseconds (`Date.now()`), which would otherwise be stored 1000 times too far out.
 */
export const MAX_EPOCH_SECONDS = 32_503_680_000 // 3000-01-01T00:00:00Z

const TIME_FORMS = 'a Date, an ISO 8601 string such as "2024-01-15T00:00:00Z" (no zone means UTC), or a number of epoch seconds'

/** A point in time as epoch microseconds, the precision Feast keeps; fractional seconds are kept. */
export function toEpochMicros(value: unknown, what: string): number {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isFinite(ms)) return ms * 1000
  } else if (typeof value === 'number' && Number.isFinite(value)) {
    return Math.round(checkEpochSeconds(value, what) * 1_000_000)
  } else if (typeof value === 'string') {
    const micros = parseDateTimeMicros(value.trim())
    if (micros !== undefined) return micros
  }
  throw new MorselError('MORSEL_VALUE_INVALID', `${what} must be a time: ${TIME_FORMS}; got ${preview(value)}.`)
}

/**
 * A value for a UnixTimestamp feature or join key in the form the encoder takes (a Date or whole
 * epoch seconds): ISO strings become Dates and numbers are checked to be seconds. Anything else is
 * returned as it is, for the encoder to reject with the type it expected.
 */
export function toTimestampValue(value: unknown, what: string): unknown {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) checkEpochSeconds(value, what)
    return value
  }
  if (typeof value === 'string') {
    const micros = parseDateTimeMicros(value.trim())
    if (micros === undefined) throw new MorselError('MORSEL_VALUE_INVALID', `${what} must be a time: ${TIME_FORMS}; got ${preview(value)}.`)
    return new Date(Math.floor(micros / 1000))
  }
  return value
}

/** Refuses a number of epoch seconds too large to be seconds (see MAX_EPOCH_SECONDS). */
export function checkEpochSeconds(seconds: number, what: string): number {
  if (Math.abs(seconds) < MAX_EPOCH_SECONDS) return seconds
  const asMs = Math.abs(seconds / 1000) < MAX_EPOCH_SECONDS ? ` (as milliseconds it would be ${new Date(seconds).toISOString()}: divide by 1000 or pass a Date)` : ''
  throw new MorselError(
    'MORSEL_VALUE_INVALID',
    `${what} is ${String(seconds)}, which as epoch seconds is beyond the year 3000; a number here is epoch seconds${asMs}.`,
    { details: { value: seconds, unit: 'seconds' } },
  )
}

function preview(value: unknown): string {
  if (value instanceof Date) return 'an invalid Date'
  const s = typeof value === 'bigint' ? `${String(value)}n` : (JSON.stringify(value) ?? String(value))
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

export function parseDateTimeMicros(s: string): number | undefined {
  const m = DATE_TIME.exec(s)
  if (m === null) return undefined
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec))
  if (!Number.isFinite(ms)) return undefined
  const check = new Date(ms)
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1) return undefined
  let offsetMin = 0
  if (zone !== undefined && zone !== 'Z' && zone !== 'z' && zone !== 'UTC') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'))
  }
  const micros = Number((frac + '000000').slice(0, 6))
  return (ms - offsetMin * 60_000) * 1000 + micros
}

/** RFC 3339 in UTC with the fraction Feast prints: none, milliseconds, or microseconds. */
export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / 1000)
  const rest = micros - ms * 1000
  const iso = new Date(ms).toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (rest !== 0) return `${iso.slice(0, 23)}${String(rest).padStart(3, '0')}Z`
  if (ms % 1000 !== 0) return iso
  return `${iso.slice(0, 19)}Z`
}
