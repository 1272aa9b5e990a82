import { seededRandom } from '../../../../src/internal/random.js'
import { MISSING_BIN, binColumns, type FeatureBins } from './bin-columns.js'
import { GbdtModel, sigmoid, type Tree } from './gbdt-model.js'

// TypeScript runners such as jiti read imported bindings through a proxy on every access; the
// training loops use module-local copies instead.
const MISSING = MISSING_BIN
const logistic = sigmoid

export interface GbdtParams {
  /** Boosting rounds: one tree each. */
  readonly nTrees: number
  /** Shrinks every tree's output. */
  readonly learningRate: number
  /** Depth of every tree (a depth-d tree has at most 2^d leaves). */
  readonly maxDepth: number
  /** A split is taken only if both children keep at least this many training rows. */
  readonly minSamplesLeaf: number
  /** ...and at least this much hessian (p·(1−p) summed): no leaves of rows the model is already sure of. */
  readonly minChildWeight: number
  /** L2 penalty on leaf values. */
  readonly lambda: number
  /** A split must reduce the loss by more than this. */
  readonly minGain: number
  /** Histogram bins per feature (quantiles), at most 254. */
  readonly maxBins: number
  /** Fraction of rows each tree is grown on, drawn with `seed`; 1 uses every row. */
  readonly subsample: number
  readonly seed: number
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = Object.freeze({
  nTrees: 150,
  learningRate: 0.1,
  maxDepth: 5,
  minSamplesLeaf: 20,
  minChildWeight: 1e-3,
  lambda: 1,
  minGain: 0,
  maxBins: 64,
  subsample: 0.8,
  seed: 1,
})

/**
 * Trains a binary classifier by gradient boosting of regression trees on the logistic loss
 * (Newton steps, as XGBoost and LightGBM do): each tree fits the loss's gradient and hessian at
 * the current predictions, splits are found on per-feature quantile histograms, and missing
 * values (NaN) go to whichever side of each split lowers the loss more.
 *
 * @param columns one Float64Array per feature, every one with a value per row (NaN = missing)
 * @param labels 0 or 1 per row
 */
export function trainGbdt(
  columns: readonly Float64Array[],
  labels: ArrayLike<number>,
  featureNames: readonly string[],
  params: Partial<GbdtParams> = {},
): GbdtModel {
  const p: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...params }
  checkParams(p)
  const n = labels.length
  if (n === 0) throw new RangeError('Cannot train on zero rows.')
  if (columns.length === 0 || columns.length !== featureNames.length) {
    throw new RangeError(`Give one name per feature column (got ${columns.length} columns, ${featureNames.length} names).`)
  }
  for (const [f, c] of columns.entries()) {
    if (c.length !== n) throw new RangeError(`Column '${featureNames[f]}' has ${c.length} rows, the labels ${n}.`)
  }
  const y = new Float64Array(n)
  let positives = 0
  for (let i = 0; i < n; i++) {
    const v = labels[i]
    if (v !== 0 && v !== 1) throw new RangeError(`Labels must be 0 or 1; row ${i} has ${String(v)}.`)
    y[i] = v
    positives += v
  }
  const rate = Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6)
  const baseScore = Math.log(rate / (1 - rate))

  const binned = binColumns(columns, p.maxBins)
  const raw = new Float64Array(n).fill(baseScore)
  const grad = new Float64Array(n)
  const hess = new Float64Array(n)
  const random = seededRandom(p.seed)
  const builder = new TreeBuilder(binned.bins, binned.features, grad, hess, p)
  const trees: Tree[] = []
  for (let t = 0; t < p.nTrees; t++) {
    for (let i = 0; i < n; i++) {
      const prob = logistic(raw[i] as number)
      grad[i] = prob - (y[i] as number)
      hess[i] = Math.max(prob * (1 - prob), 1e-16)
    }
    const grown = builder.build(sampleRows(n, p.subsample, random))
    trees.push(grown.tree)
    for (let i = 0; i < n; i++) raw[i] = (raw[i] as number) + (grown.tree.value[builder.leafOfRow(grown, i)] as number)
  }
  return new GbdtModel([...featureNames], baseScore, trees, { ...p })
}

function checkParams(p: GbdtParams): void {
  const positiveInt = (k: keyof GbdtParams, min: number): void => {
    if (!Number.isInteger(p[k]) || p[k] < min) throw new RangeError(`${k} must be an integer >= ${min}, got ${p[k]}.`)
  }
  positiveInt('nTrees', 1)
  positiveInt('maxDepth', 1)
  positiveInt('minSamplesLeaf', 1)
  positiveInt('seed', 0)
  if (!(p.learningRate > 0 && p.learningRate <= 1)) throw new RangeError(`learningRate must be in (0, 1], got ${p.learningRate}.`)
  if (!(p.subsample > 0 && p.subsample <= 1)) throw new RangeError(`subsample must be in (0, 1], got ${p.subsample}.`)
  if (!(p.lambda >= 0) || !(p.minGain >= 0) || !(p.minChildWeight >= 0)) throw new RangeError('lambda, minGain and minChildWeight must be >= 0.')
}

function sampleRows(n: number, fraction: number, random: () => number): Uint32Array {
  const rows = new Uint32Array(n)
  if (fraction >= 1) {
    for (let i = 0; i < n; i++) rows[i] = i
    return rows
  }
  let k = 0
  for (let i = 0; i < n; i++) if (random() < fraction) rows[k++] = i
  if (k > 0) return rows.slice(0, k)
  for (let i = 0; i < n; i++) rows[i] = i
  return rows
}

interface GrownTree {
  readonly tree: Tree
  /** Per node, the last bin that goes left. */
  readonly splitBin: Int32Array
}

interface Split {
  readonly feature: number
  readonly bin: number
  readonly missingLeft: boolean
  readonly gain: number
}

/**
 * Grows one tree at a time over the binned training set; a child's histogram is its parent's minus
 * its sibling's. Plain `private` members rather than `#fields`: TypeScript runners (jiti) compile
 * `#fields` to WeakMap lookups, which cost several times the work of these loops.
 */
class TreeBuilder {
  private readonly bins: readonly Uint8Array[]
  private readonly features: readonly FeatureBins[]
  private readonly grad: Float64Array
  private readonly hess: Float64Array
  private readonly p: GbdtParams
  /** Start of each feature's slots in a histogram; a feature has nBins slots plus one for missing values. */
  private readonly offsets: Int32Array
  private readonly slots: number
  private nodes: { feature: number[]; threshold: number[]; defaultLeft: number[]; left: number[]; right: number[]; value: number[]; cover: number[]; gain: number[]; splitBin: number[] } = emptyNodes()

  constructor(bins: readonly Uint8Array[], features: readonly FeatureBins[], grad: Float64Array, hess: Float64Array, p: GbdtParams) {
    this.bins = bins
    this.features = features
    this.grad = grad
    this.hess = hess
    this.p = p
    this.offsets = new Int32Array(features.length)
    let slots = 0
    for (let f = 0; f < features.length; f++) {
      this.offsets[f] = slots
      slots += (features[f] as FeatureBins).nBins + 1
    }
    this.slots = slots
  }

  build(rows: Uint32Array): GrownTree {
    this.nodes = emptyNodes()
    let g = 0
    let h = 0
    for (const r of rows) {
      g += this.grad[r] as number
      h += this.hess[r] as number
    }
    this.grow(rows, this.histogram(rows), 0, g, h)
    const nd = this.nodes
    return {
      tree: {
        feature: Int32Array.from(nd.feature),
        threshold: Float64Array.from(nd.threshold),
        defaultLeft: Uint8Array.from(nd.defaultLeft),
        left: Int32Array.from(nd.left),
        right: Int32Array.from(nd.right),
        value: Float64Array.from(nd.value),
        cover: Float64Array.from(nd.cover),
        gain: Float64Array.from(nd.gain),
      },
      splitBin: Int32Array.from(nd.splitBin),
    }
  }

  /** The leaf a training row reaches, following bins (the same path its raw values take). */
  leafOfRow(grown: GrownTree, row: number): number {
    const t = grown.tree
    let i = 0
    let f = t.feature[0] as number
    while (f >= 0) {
      const b = (this.bins[f] as Uint8Array)[row] as number
      const goLeft = b === MISSING ? t.defaultLeft[i] === 1 : b <= (grown.splitBin[i] as number)
      i = goLeft ? (t.left[i] as number) : (t.right[i] as number)
      f = t.feature[i] as number
    }
    return i
  }

  private grow(rows: Uint32Array, hist: Float64Array, depth: number, g: number, h: number): number {
    const p = this.p
    const nd = this.nodes
    const id = nd.feature.length
    nd.feature.push(-1)
    nd.threshold.push(0)
    nd.defaultLeft.push(0)
    nd.left.push(-1)
    nd.right.push(-1)
    nd.value.push((-g / (h + p.lambda)) * p.learningRate)
    nd.cover.push(rows.length)
    nd.gain.push(0)
    nd.splitBin.push(-1)
    if (depth >= p.maxDepth || rows.length < 2 * p.minSamplesLeaf) return id
    const split = this.bestSplit(hist, g, h, rows.length)
    if (split === undefined) return id

    // One pass: left rows fill the buffer from the front, right rows from the back (then reversed
    // to keep row order, which keeps sums, and so the model, identical run to run).
    const column = this.bins[split.feature] as Uint8Array
    const buffer = new Uint32Array(rows.length)
    let li = 0
    let ri = rows.length
    let gl = 0
    let hl = 0
    const grad = this.grad
    const hess = this.hess
    const { missingLeft, bin } = split
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k] as number
      const b = column[r] as number
      if (b === MISSING ? missingLeft : b <= bin) {
        buffer[li++] = r
        gl += grad[r] as number
        hl += hess[r] as number
      } else buffer[--ri] = r
    }
    const nLeft = li
    const leftRows = buffer.subarray(0, nLeft)
    const rightRows = buffer.subarray(nLeft).reverse()
    // Histogram the smaller child; the larger one is the parent's minus it.
    const leftSmaller = nLeft <= rows.length - nLeft
    const small = this.histogram(leftSmaller ? leftRows : rightRows)
    const large = hist
    for (let k = 0; k < large.length; k++) large[k] = (large[k] as number) - (small[k] as number)
    const leftHist = leftSmaller ? small : large
    const rightHist = leftSmaller ? large : small

    const cuts = (this.features[split.feature] as FeatureBins).cuts
    nd.feature[id] = split.feature
    // The last bin as split point separates present values (left) from missing ones (right).
    nd.threshold[id] = split.bin < cuts.length ? (cuts[split.bin] as number) : Number.MAX_VALUE
    nd.defaultLeft[id] = split.missingLeft ? 1 : 0
    nd.gain[id] = split.gain
    nd.splitBin[id] = split.bin
    nd.left[id] = this.grow(leftRows, leftHist, depth + 1, gl, hl)
    nd.right[id] = this.grow(rightRows, rightHist, depth + 1, g - gl, h - hl)
    return id
  }

  /** Gradient sum, hessian sum and row count per (feature, bin) over the given rows. */
  private histogram(rows: Uint32Array): Float64Array {
    const hist = new Float64Array(this.slots * 3)
    const n = rows.length
    // Gradients gathered in row order once, rather than looked up at random for every feature.
    const g = new Float64Array(n)
    const h = new Float64Array(n)
    const grad = this.grad
    const hess = this.hess
    for (let k = 0; k < n; k++) {
      const r = rows[k] as number
      g[k] = grad[r] as number
      h[k] = hess[r] as number
    }
    for (let f = 0; f < this.bins.length; f++) {
      const column = this.bins[f] as Uint8Array
      const base = this.offsets[f] as number
      const missingSlot = base + (this.features[f] as FeatureBins).nBins
      for (let k = 0; k < n; k++) {
        const b = column[rows[k] as number] as number
        const s = (b === MISSING ? missingSlot : base + b) * 3
        hist[s] = (hist[s] as number) + (g[k] as number)
        hist[s + 1] = (hist[s + 1] as number) + (h[k] as number)
        hist[s + 2] = (hist[s + 2] as number) + 1
      }
    }
    return hist
  }

  private bestSplit(hist: Float64Array, g: number, h: number, n: number): Split | undefined {
    const { lambda, minSamplesLeaf, minChildWeight, minGain } = this.p
    const parent = (g * g) / (h + lambda)
    let best: Split | undefined
    const consider = (feature: number, bin: number, missingLeft: boolean, gl: number, hl: number, cl: number): void => {
      const cr = n - cl
      const hr = h - hl
      if (cl < minSamplesLeaf || cr < minSamplesLeaf || hl < minChildWeight || hr < minChildWeight) return
      const gr = g - gl
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent
      if (gain > minGain && (best === undefined || gain > best.gain)) best = { feature, bin, missingLeft, gain }
    }
    for (let f = 0; f < this.bins.length; f++) {
      const base = this.offsets[f] as number
      const nBins = (this.features[f] as FeatureBins).nBins
      const ms = (base + nBins) * 3
      const mg = hist[ms] as number
      const mh = hist[ms + 1] as number
      const mc = hist[ms + 2] as number
      let gl = 0
      let hl = 0
      let cl = 0
      for (let b = 0; b < nBins; b++) {
        const s = (base + b) * 3
        gl += hist[s] as number
        hl += hist[s + 1] as number
        cl += hist[s + 2] as number
        consider(f, b, false, gl, hl, cl)
        if (mc > 0 && b < nBins - 1) consider(f, b, true, gl + mg, hl + mh, cl + mc)
      }
    }
    return best
  }
}

function emptyNodes(): { feature: number[]; threshold: number[]; defaultLeft: number[]; left: number[]; right: number[]; value: number[]; cover: number[]; gain: number[]; splitBin: number[] } {
  return { feature: [], threshold: [], defaultLeft: [], left: [], right: [], value: [], cover: [], gain: [], splitBin: [] }
}
