import type { Tree } from '../../examples/credit-scoring/app/gbdt/gbdt-model.js'

/**
 * Shapley values by their definition, for testing TreeSHAP: the value of a coalition S is the
 * tree ensemble's expected output when the features in S take the row's values and the others
 * are integrated out by cover (at a split on a feature outside S, both children weighted by the
 * training rows that went each way). Exponential in the number of features: small trees only.
 */
export function bruteForceShap(trees: readonly Tree[], x: ArrayLike<number>, nFeatures: number): Float64Array {
  const value = (inS: readonly boolean[]): number => trees.reduce((sum, t) => sum + conditionalExpectation(t, 0, x, inS), 0)
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1))
  const phi = new Float64Array(nFeatures)
  const subsets = 1 << nFeatures
  for (let mask = 0; mask < subsets; mask++) {
    const size = popcount(mask)
    const inS = Array.from({ length: nFeatures }, (_, f) => (mask & (1 << f)) !== 0)
    const base = value(inS)
    for (let i = 0; i < nFeatures; i++) {
      if (inS[i]) continue
      const withI = [...inS]
      withI[i] = true
      const weight = (factorial(size) * factorial(nFeatures - size - 1)) / factorial(nFeatures)
      phi[i] = (phi[i] as number) + weight * (value(withI) - base)
    }
  }
  return phi
}

/** E[tree(x) | x_S]: follow the row on features in S, average children by cover elsewhere. */
export function conditionalExpectation(t: Tree, node: number, x: ArrayLike<number>, inS: readonly boolean[]): number {
  const f = t.feature[node] as number
  if (f < 0) return t.value[node] as number
  const l = t.left[node] as number
  const r = t.right[node] as number
  if (inS[f] === true) {
    const v = x[f] as number
    const goLeft = Number.isNaN(v) ? t.defaultLeft[node] === 1 : v <= (t.threshold[node] as number)
    return conditionalExpectation(t, goLeft ? l : r, x, inS)
  }
  const w = t.cover[node] as number
  return ((t.cover[l] as number) * conditionalExpectation(t, l, x, inS) + (t.cover[r] as number) * conditionalExpectation(t, r, x, inS)) / w
}

function popcount(n: number): number {
  let c = 0
  for (let m = n; m > 0; m &= m - 1) c++
  return c
}
