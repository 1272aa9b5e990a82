/**
 * The q-quantile of observations counted in cumulative histogram buckets, as Prometheus's
 * `histogram_quantile` estimates it: linear interpolation inside the bucket where the rank falls
 * (the first bucket starting at 0); a rank in the +Inf bucket answers the largest finite bound.
 * Null when the buckets count nothing.
 *
 * @param bounds upper bounds, ascending, the last one +Infinity
 * @param cumulative observations at or below each bound
 */
export function histogramQuantile(q: number, bounds: ArrayLike<number>, cumulative: ArrayLike<number>): number | null {
  const n = bounds.length
  const total = n > 0 ? (cumulative[n - 1] as number) : 0
  if (!(total > 0)) return null
  const rank = q * total
  for (let b = 0; b < n; b++) {
    const upTo = cumulative[b] as number
    if (upTo >= rank) {
      const upper = bounds[b] as number
      if (upper === Number.POSITIVE_INFINITY) return n > 1 ? (bounds[n - 2] as number) : null
      const lower = b === 0 ? 0 : (bounds[b - 1] as number)
      const below = b === 0 ? 0 : (cumulative[b - 1] as number)
      const inBucket = upTo - below
      if (inBucket <= 0) return upper
      return lower + ((upper - lower) * (rank - below)) / inBucket
    }
  }
  return n > 1 ? (bounds[n - 2] as number) : null
}
