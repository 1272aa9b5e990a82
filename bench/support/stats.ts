/** Latency samples and their summaries. Every duration in the suite is in microseconds. */

export interface Percentiles {
  readonly n: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  readonly mean: number
}

/** The sample at rank ceil(p·n) (nearest rank), from sorted samples. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export function summarize(samples: Float64Array): Percentiles {
  const sorted = Float64Array.from(samples).sort()
  let sum = 0
  for (const x of sorted) sum += x
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  }
}

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** The median of each percentile over repetitions (each repetition summarised on its own). */
export function medianOf(reps: readonly Percentiles[]): Percentiles {
  const pick = (k: keyof Percentiles): number => median(reps.map((r) => r[k]))
  return {
    n: reps.reduce((a, r) => a + r.n, 0),
    p50: pick('p50'),
    p90: pick('p90'),
    p99: pick('p99'),
    p999: pick('p999'),
    max: Math.max(...reps.map((r) => r.max)),
    mean: pick('mean'),
  }
}

/** Microseconds since an arbitrary origin, at the clock's full resolution. */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000
}
