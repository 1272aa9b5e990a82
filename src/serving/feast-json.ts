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
  for (let c = 0; c < names.length; c++) out += (c ? ',' : '') + JSON.stringify(names[c])
  out += ']},"results":['
  // The features of one view share an event time per row: format each distinct time once.
  let lastTime = 0
  let lastText = EPOCH
  for (let c = 0; c < names.length; c++) {
    const values = response.values[c]!
    const statuses = response.statuses[c]!
    const times = response.eventTimes[c]!
    out += c ? ',{"values":[' : '{"values":['
    for (let r = 0; r < n; r++) out += (r ? ',' : '') + jsonValue(values[r])
    out += '],"statuses":['
    for (let r = 0; r < n; r++) out += (r ? ',"' : '"') + FIELD_STATUS_NAMES[statuses[r]!]! + '"'
    out += '],"event_timestamps":['
    for (let r = 0; r < n; r++) {
      const t = times[r]!
      if (t !== lastTime) {
        lastTime = t
        lastText = t === 0 ? EPOCH : `"${formatMicros(t)}"`
      }
      out += (r ? ',' : '') + lastText
    }
    out += ']}'
  }
  return `${out}]}`
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
