import type { GbdtModel, Tree } from './gbdt-model.js'

/**
 * Exact SHAP values of tree ensembles in polynomial time: the path-dependent TreeSHAP algorithm
 * (Lundberg, Erion and Lee, "Consistent Individualized Feature Attribution for Tree Ensembles",
 * 2018, Algorithm 2). A feature outside a coalition is integrated out by following both children
 * of each split on it, weighted by the training rows (cover) that went each way; a feature inside
 * follows the row. One pass over each tree computes every feature's Shapley value under that
 * value function in O(leaves · depth²), instead of the 2^features coalitions of the definition.
 *
 * Values are in the model's output units (log-odds) and add up: baseValue + Σ contributions is
 * the model's raw output for the row.
 */
export interface ShapExplanation {
  /** The model's expected raw output: base score plus every tree's cover-weighted mean leaf value. */
  readonly baseValue: number
  /** Per feature (the model's feature order), its contribution to this row's output. */
  readonly contributions: Float64Array
  /** The model's raw output for the row: baseValue + Σ contributions. */
  readonly output: number
}

/**
 * Explains rows of one GBDT model. Buffers and per-tree expected values are computed once, so
 * explaining a row allocates only its result.
 */
export class TreeExplainer {
  readonly model: GbdtModel
  readonly baseValue: number
  // Not #fields: TypeScript runners (jiti) compile those to WeakMap lookups.
  private readonly path: PathBuffer

  constructor(model: GbdtModel) {
    this.model = model
    let base = model.baseScore
    let depth = 0
    for (const t of model.trees) {
      base += treeExpectedValue(t)
      depth = Math.max(depth, treeDepth(t))
    }
    this.baseValue = base
    this.path = new PathBuffer(depth)
  }

  /** SHAP values of one encoded row (NaN = missing, sent where each split sends missing values). */
  explain(x: ArrayLike<number>): ShapExplanation {
    const phi = new Float64Array(this.model.featureNames.length)
    for (const t of this.model.trees) addTreeShap(t, x, phi, this.path)
    let output = this.baseValue
    for (let i = 0; i < phi.length; i++) output += phi[i] as number
    return { baseValue: this.baseValue, contributions: phi, output }
  }

  /**
   * Global importance: the mean absolute SHAP value of each feature over the rows given (the
   * average size of its push on a decision, in log-odds).
   */
  meanAbsoluteShap(rows: Iterable<ArrayLike<number>>): Float64Array {
    const sum = new Float64Array(this.model.featureNames.length)
    let n = 0
    const phi = new Float64Array(sum.length)
    for (const x of rows) {
      phi.fill(0)
      for (const t of this.model.trees) addTreeShap(t, x, phi, this.path)
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + Math.abs(phi[i] as number)
      n++
    }
    return n === 0 ? sum : sum.map((v) => v / n)
  }
}

/** The mean output of a tree over its training rows: leaf values weighted by cover. */
export function treeExpectedValue(t: Tree): number {
  const walk = (i: number): number => {
    if ((t.feature[i] as number) < 0) return t.value[i] as number
    const l = t.left[i] as number
    const r = t.right[i] as number
    const w = t.cover[i] as number
    const wl = t.cover[l] as number
    const wr = t.cover[r] as number
    // A node no training row reached (possible only in hand-made trees) averages its children evenly.
    if (!(w > 0)) return (walk(l) + walk(r)) / 2
    return (wl * walk(l) + wr * walk(r)) / w
  }
  return walk(0)
}

/** Splits on the longest root-to-leaf path. */
export function treeDepth(t: Tree): number {
  const walk = (i: number): number => ((t.feature[i] as number) < 0 ? 0 : 1 + Math.max(walk(t.left[i] as number), walk(t.right[i] as number)))
  return walk(0)
}

/**
 * The "unique paths" of the recursion, flat: each recursion level copies its parent's path into
 * the slots after it, so one buffer of (D+2)(D+3)/2 elements serves a tree of depth D.
 * Element e of a path: the split feature (-1 for the root's placeholder), the fraction of rows
 * that follow this path when the feature is left out (zero) or kept (one, 0 or 1), and the
 * weight of the coalition sizes ending here (pweight).
 */
class PathBuffer {
  readonly feature: Int32Array
  readonly zero: Float64Array
  readonly one: Float64Array
  readonly weight: Float64Array

  constructor(maxDepth: number) {
    const size = ((maxDepth + 2) * (maxDepth + 3)) / 2 + 1
    this.feature = new Int32Array(size)
    this.zero = new Float64Array(size)
    this.one = new Float64Array(size)
    this.weight = new Float64Array(size)
  }
}

/** Adds one tree's SHAP values for row `x` into `phi`. */
export function addTreeShap(t: Tree, x: ArrayLike<number>, phi: Float64Array, path: PathBuffer = new PathBuffer(treeDepth(t))): void {
  recurse(t, x, phi, path, 0, 0, 0, 1, 1, -1)
}

/**
 * @param node the node reached
 * @param start where this level's path begins in the buffer; the parent's path (`depth` elements) is at `parentStart`
 * @param depth elements of the parent's path
 */
function recurse(
  t: Tree,
  x: ArrayLike<number>,
  phi: Float64Array,
  p: PathBuffer,
  node: number,
  parentStart: number,
  depth: number,
  zeroFraction: number,
  oneFraction: number,
  feature: number,
): void {
  const start = parentStart + depth + 1
  // This level's copy of the parent's path, so the sibling recursion still sees the parent's.
  p.feature.copyWithin(start, parentStart, parentStart + depth)
  p.zero.copyWithin(start, parentStart, parentStart + depth)
  p.one.copyWithin(start, parentStart, parentStart + depth)
  p.weight.copyWithin(start, parentStart, parentStart + depth)
  extendPath(p, start, depth, zeroFraction, oneFraction, feature)

  const split = t.feature[node] as number
  if (split < 0) {
    const leaf = t.value[node] as number
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(p, start, depth, i)
      const f = p.feature[start + i] as number
      phi[f] = (phi[f] as number) + w * ((p.one[start + i] as number) - (p.zero[start + i] as number)) * leaf
    }
    return
  }

  const v = x[split] as number
  const goLeft = Number.isNaN(v) ? t.defaultLeft[node] === 1 : v <= (t.threshold[node] as number)
  const hot = goLeft ? (t.left[node] as number) : (t.right[node] as number)
  const cold = goLeft ? (t.right[node] as number) : (t.left[node] as number)
  const w = t.cover[node] as number
  const hotZero = w > 0 ? (t.cover[hot] as number) / w : 0
  const coldZero = w > 0 ? (t.cover[cold] as number) / w : 0

  // A feature split on again further down is one player: undo its earlier element, then
  // extend with the product of both splits' fractions.
  let incomingZero = 1
  let incomingOne = 1
  let d = depth
  let k = 0
  while (k <= d && p.feature[start + k] !== split) k++
  if (k <= d) {
    incomingZero = p.zero[start + k] as number
    incomingOne = p.one[start + k] as number
    unwindPath(p, start, d, k)
    d -= 1
  }
  // A branch with both fractions 0 (no training row reached it, and the row does not go there)
  // carries no weight: skipping it is exact, and keeps the unwinding free of 0/0.
  if (hotZero * incomingZero > 0 || incomingOne > 0) recurse(t, x, phi, p, hot, start, d + 1, hotZero * incomingZero, incomingOne, split)
  if (coldZero * incomingZero > 0) recurse(t, x, phi, p, cold, start, d + 1, coldZero * incomingZero, 0, split)
}

/** Adds an element to the path (which holds `depth` elements) and updates the coalition-size weights. */
function extendPath(p: PathBuffer, start: number, depth: number, zeroFraction: number, oneFraction: number, feature: number): void {
  p.feature[start + depth] = feature
  p.zero[start + depth] = zeroFraction
  p.one[start + depth] = oneFraction
  p.weight[start + depth] = depth === 0 ? 1 : 0
  for (let i = depth - 1; i >= 0; i--) {
    p.weight[start + i + 1] = (p.weight[start + i + 1] as number) + (oneFraction * (p.weight[start + i] as number) * (i + 1)) / (depth + 1)
    p.weight[start + i] = (zeroFraction * (p.weight[start + i] as number) * (depth - i)) / (depth + 1)
  }
}

/** Removes element `index` from a path of `depth + 1` elements: the inverse of `extendPath`. */
function unwindPath(p: PathBuffer, start: number, depth: number, index: number): void {
  const one = p.one[start + index] as number
  const zero = p.zero[start + index] as number
  let next = p.weight[start + depth] as number
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = p.weight[start + i] as number
      p.weight[start + i] = (next * (depth + 1)) / ((i + 1) * one)
      next = tmp - ((p.weight[start + i] as number) * zero * (depth - i)) / (depth + 1)
    } else {
      p.weight[start + i] = ((p.weight[start + i] as number) * (depth + 1)) / (zero * (depth - i))
    }
  }
  for (let i = index; i < depth; i++) {
    p.feature[start + i] = p.feature[start + i + 1] as number
    p.zero[start + i] = p.zero[start + i + 1] as number
    p.one[start + i] = p.one[start + i + 1] as number
  }
}

/** The total weight the path would have with element `index` unwound, without unwinding it. */
function unwoundPathSum(p: PathBuffer, start: number, depth: number, index: number): number {
  const one = p.one[start + index] as number
  const zero = p.zero[start + index] as number
  let next = p.weight[start + depth] as number
  let total = 0
  if (one !== 0) {
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = next / ((i + 1) * one)
      total += tmp
      next = (p.weight[start + i] as number) - tmp * zero * (depth - i)
    }
  } else {
    for (let i = depth - 1; i >= 0; i--) total += (p.weight[start + i] as number) / (zero * (depth - i))
  }
  return total * (depth + 1)
}
