/** The bin of a missing value (NaN, ±Infinity): kept apart so that each split learns where missing values go. */
export const MISSING_BIN = 255
/** At most this many bins for present values, so that a bin index and the missing bin fit a byte. */
export const MAX_BINS = 254

/** How one feature's present values are cut into bins. */
export interface FeatureBins {
  /**
   * Ascending cut points: a value v lies in the first bin b with v <= cuts[b], or in the last bin
   * when it exceeds every cut. Each cut is the midpoint between the largest training value below it
   * and the smallest above it, so a split "bin <= b" is the raw-value test "v <= cuts[b]".
   */
  readonly cuts: Float64Array
  /** Number of bins for present values: cuts.length + 1 (1 when the feature is constant or empty). */
  readonly nBins: number
}

export interface BinnedColumns {
  /** Per feature, the bin of every row (MISSING_BIN for missing values). */
  readonly bins: readonly Uint8Array[]
  readonly features: readonly FeatureBins[]
}

/**
 * Quantile binning of every column (histogram split finding): a feature with at most `maxBins`
 * distinct values gets one bin per value, otherwise cuts fall at (roughly) equal-count quantiles,
 * never inside a run of equal values.
 */
export function binColumns(columns: readonly Float64Array[], maxBins: number): BinnedColumns {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BINS) {
    throw new RangeError(`maxBins must be an integer from 2 to ${MAX_BINS}, got ${maxBins}.`)
  }
  const features = columns.map((c) => quantileCuts(c, maxBins))
  const bins = columns.map((c, f) => assignBins(c, features[f] as FeatureBins))
  return { bins, features }
}

function quantileCuts(column: Float64Array, maxBins: number): FeatureBins {
  const present = column.filter((v) => Number.isFinite(v)).sort()
  const n = present.length
  const distinct: number[] = []
  const upTo: number[] = []
  for (let i = 0; i < n; i++) {
    const v = present[i] as number
    if (i === 0 || v !== present[i - 1]) distinct.push(v)
    upTo[distinct.length - 1] = i + 1
  }
  const cuts: number[] = []
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) cuts.push(midpoint(distinct[i] as number, distinct[i + 1] as number))
  } else {
    for (let i = 0; i + 1 < distinct.length; i++) {
      // Cut after value i when the rows up to it cross the next of maxBins equal-count quantiles.
      if (Math.floor(((upTo[i] as number) * maxBins) / n) > cuts.length && cuts.length < maxBins - 1) {
        cuts.push(midpoint(distinct[i] as number, distinct[i + 1] as number))
      }
    }
  }
  return { cuts: Float64Array.from(cuts), nBins: cuts.length + 1 }
}

/** A cut strictly between a and b (a < b), even where their midpoint rounds onto b. */
function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2
  return m < b ? m : a
}

function assignBins(column: Float64Array, bins: FeatureBins): Uint8Array {
  const out = new Uint8Array(column.length)
  for (let i = 0; i < column.length; i++) out[i] = binOf(column[i] as number, bins.cuts)
  return out
}

/** The bin of one value under the given cuts. */
export function binOf(v: number, cuts: Float64Array): number {
  if (!Number.isFinite(v)) return MISSING_BIN
  let lo = 0
  let hi = cuts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (v <= (cuts[mid] as number)) hi = mid
    else lo = mid + 1
  }
  return lo
}
