import { formatMicros } from '../internal/time.js'
import { FIELD_STATUS_NAMES } from './field-status.js'
import type { OnlineResponse } from './online-response.js'

const EPOCH = '"1970-01-01T00:00:00Z"'

/**
 * The response in the exact JSON of Feast's Python feature server: column-major
 * `{metadata: {feature_names}, results: [{values, statuses, event_timestamps}]}`, int64 as JSON
 * numbers, bytes as base64, timestamps RFC 3339 in UTC (epoch zero where there is none).
 * Built as one string, without an intermediate object tree.
 */
export function toFeastJson(response: OnlineResponse): string {
  const names = response.featureNames
  const n = response.rowCount
  let out = '{"metadata":{"feature_names":['
  for (let c = 0; c < names.length; c++) out += (c ? ',' : '') + quoted(names[c]!)
  out += ']},"results":['
  // The features of one view share an event time per row: each row remembers the last time it
  // formatted, so a time is formatted once per row and view, not once per feature.
  const lastTime = new Array<number>(n).fill(0)
  const lastText = new Array<string>(n).fill(EPOCH)
  for (let c = 0; c < names.length; c++) {
    const values = response.values[c]!
    const statuses = response.statuses[c]!
    const times = response.eventTimes[c]!
    out += c ? ',{"values":[' : '{"values":['
    for (let r = 0; r < n; r++) out += (r ? ',' : '') + jsonValue(values[r])
    out += '],"statuses":['
    for (let r = 0; r < n; r++) out += (r ? ',' : '') + QUOTED_STATUS[statuses[r]!]!
    out += '],"event_timestamps":['
    for (let r = 0; r < n; r++) {
      const t = times[r]!
      let text = lastText[r]!
      if (t !== lastTime[r]) {
        text = t === 0 ? EPOCH : `"${formatMicros(t)}"`
        lastTime[r] = t
        lastText[r] = text
      }
      out += (r ? ',' : '') + text
    }
    out += ']}'
  }
  return `${out}]}`
}

const QUOTED_STATUS: readonly string[] = FIELD_STATUS_NAMES.map((name) => `"${name}"`)

/** Column names as JSON strings, kept: the same few names come back in every response. */
const QUOTED_NAMES = new Map<string, string>()

function quoted(name: string): string {
  let q = QUOTED_NAMES.get(name)
  if (q === undefined) {
    q = JSON.stringify(name)
    if (QUOTED_NAMES.size >= 10_000) QUOTED_NAMES.clear()
    QUOTED_NAMES.set(name, q)
  }
  return q
}

export function jsonValue(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null'
    case 'string':
      return JSON.stringify(v)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'bigint':
      return v.toString()
    case 'object': {
      if (v === null) return 'null'
      if (v instanceof Date) return String(Math.floor(v.getTime() / 1000))
      if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`
      if (Array.isArray(v)) {
        let s = '['
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + jsonValue(v[i])
        return `${s}]`
      }
      return JSON.stringify(v)
    }
    default:
      return 'null'
  }
}
