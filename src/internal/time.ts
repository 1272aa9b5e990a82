import { MorselError } from '../errors/index.js'

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/

/**
 * Reads a point in time as epoch microseconds, the precision Feast keeps. Accepts a Date, an
 * RFC 3339 / ISO 8601 string (also Feast's `2022-05-13 10:59:42+00:00`; no zone means UTC, as
 * Feast treats naive times), or a number of epoch milliseconds (JavaScript's convention).
 */
export function toEpochMicros(value: unknown, what: string): number {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isFinite(ms)) return ms * 1000
  } else if (typeof value === 'number' && Number.isFinite(value)) {
    return Math.round(value * 1000)
  } else if (typeof value === 'string') {
    const micros = parseDateTimeMicros(value.trim())
    if (micros !== undefined) return micros
  }
  throw new MorselError(
    'MORSEL_VALUE_INVALID',
    `${what} must be a time: an ISO 8601 string such as "2024-01-15T00:00:00Z" (no zone means UTC), a Date, or epoch milliseconds; got ${JSON.stringify(value) ?? String(value)}.`,
  )
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
