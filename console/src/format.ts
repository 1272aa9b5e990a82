/** Display helpers: durations, ages, sizes and values, in one place so every page says them alike. */

export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0 s'
  const abs = Math.abs(seconds)
  const units: Array<[number, string]> = [
    [365 * 86_400, 'y'],
    [86_400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's'],
  ]
  for (const [size, unit] of units) {
    if (abs >= size) {
      const n = seconds / size
      return `${Number.isInteger(n) ? n : n.toFixed(n < 10 ? 1 : 0)} ${unit}`
    }
  }
  if (abs >= 0.001) return `${(seconds * 1000).toFixed(abs >= 0.01 ? 0 : 1)} ms`
  return `${(seconds * 1e6).toFixed(0)} µs`
}

/** A ttl: 0 is no limit. */
export function formatTtl(seconds: number): string {
  if (seconds === 0) return 'no limit'
  if (seconds % 86_400 === 0) return seconds === 86_400 ? '1 day' : `${seconds / 86_400} days`
  return formatDuration(seconds)
}

export function formatAge(seconds: number | null): string {
  if (seconds === null) return '–'
  return `${formatDuration(seconds)} ago`
}

export function ageOf(iso: string | null, now = Date.now()): number | null {
  if (iso === null || iso === '') return null
  const t = Date.parse(iso)
  return Number.isFinite(t) ? Math.max(0, (now - t) / 1000) : null
}

export function formatTime(iso: string | null): string {
  if (iso === null || iso === '') return '–'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(':00Z', 'Z')
}

export function formatDay(iso: string): string {
  return iso.slice(0, 10)
}

export function formatBytes(n: number | null): string {
  if (n === null) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(u === 0 ? 0 : v < 10 ? 2 : 1)} ${units[u]}`
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '–'
  if (ms === 0) return '0 ms'
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`
  if (ms < 10) return `${ms.toFixed(2)} ms`
  return `${ms.toFixed(1)} ms`
}

export function formatRatio(r: number | null): string {
  if (r === null) return '–'
  return `${(r * 100).toFixed(r === 0 || r === 1 ? 0 : 1)} %`
}

export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return '–'
  return `${perSecond < 10 ? perSecond.toFixed(2) : perSecond.toFixed(0)}/s`
}

/** A feature value as text: null, numbers without float noise, everything else as JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6)
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** Clock time of an epoch-seconds chart tick: 09:41:05. */
export function formatClock(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}
