import { describe, expect, it } from 'vitest'
import { GbdtModel, type Tree } from '../../../examples/credit-scoring/app/gbdt/gbdt-model.js'
import { TreeExplainer, addTreeShap, treeDepth, treeExpectedValue } from '../../../examples/credit-scoring/app/gbdt/tree-shap.js'
import { trainGbdt } from '../../../examples/credit-scoring/app/gbdt/train-gbdt.js'
import { seededRandom } from '../../../src/internal/random.js'
import { bruteForceShap, conditionalExpectation } from '../../support/brute-force-shap.js'

/**
 * A random tree over `nFeatures` features: depth up to `maxDepth`, features repeated along paths
 * (the case TreeSHAP's unwinding exists for), integer covers that add up from the leaves, random
 * missing-value directions.
 */
function randomTree(random: () => number, nFeatures: number, maxDepth: number): Tree {
  const nodes: Array<{ feature: number; threshold: number; defaultLeft: number; left: number; right: number; value: number; cover: number }> = []
  const grow = (depth: number): number => {
    const i = nodes.length
    nodes.push({ feature: -1, threshold: 0, defaultLeft: 0, left: -1, right: -1, value: 0, cover: 0 })
    const node = nodes[i]!
    if (depth >= maxDepth || (depth > 0 && random() < 0.25)) {
      node.value = Math.round((random() * 4 - 2) * 1000) / 1000
      node.cover = 1 + Math.floor(random() * 50)
      return i
    }
    node.feature = Math.floor(random() * nFeatures)
    node.threshold = Math.round(random() * 100) / 100
    node.defaultLeft = random() < 0.5 ? 1 : 0
    node.left = grow(depth + 1)
    node.right = grow(depth + 1)
    node.cover = nodes[node.left]!.cover + nodes[node.right]!.cover
    node.value = (nodes[node.left]!.value * nodes[node.left]!.cover + nodes[node.right]!.value * nodes[node.right]!.cover) / node.cover
    return i
  }
  grow(0)
  return {
    feature: Int32Array.from(nodes, (n) => n.feature),
    threshold: Float64Array.from(nodes, (n) => n.threshold),
    defaultLeft: Uint8Array.from(nodes, (n) => n.defaultLeft),
    left: Int32Array.from(nodes, (n) => n.left),
    right: Int32Array.from(nodes, (n) => n.right),
    value: Float64Array.from(nodes, (n) => n.value),
    cover: Float64Array.from(nodes, (n) => n.cover),
    gain: new Float64Array(nodes.length),
  }
}

function randomRow(random: () => number, nFeatures: number): Float64Array {
  // Some values missing, some exactly on a threshold's grid.
  return Float64Array.from({ length: nFeatures }, () => (random() < 0.15 ? NaN : Math.round(random() * 100) / 100))
}

const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0)

describe('TreeSHAP', () => {
  it('equals the brute-force Shapley values on 300 random small trees and rows (repeated features, missing values)', () => {
    const random = seededRandom(20_260_611)
    let repeated = 0
    for (let trial = 0; trial < 300; trial++) {
      const nFeatures = 1 + Math.floor(random() * 6)
      const nTrees = 1 + Math.floor(random() * 3)
      const trees = Array.from({ length: nTrees }, () => randomTree(random, nFeatures, 1 + Math.floor(random() * 5)))
      if (trees.some((t) => hasRepeatedFeatureOnAPath(t))) repeated++
      const model = new GbdtModel(Array.from({ length: nFeatures }, (_, i) => `f${i}`), random() - 0.5, trees, {})
      const explainer = new TreeExplainer(model)
      for (let r = 0; r < 4; r++) {
        const x = randomRow(random, nFeatures)
        const fast = explainer.explain(x).contributions
        const exact = bruteForceShap(trees, x, nFeatures)
        for (let f = 0; f < nFeatures; f++) expect(fast[f], `trial ${trial}, feature ${f}`).toBeCloseTo(exact[f]!, 9)
      }
    }
    // The random trees exercise the unwinding of a feature split on twice.
    expect(repeated).toBeGreaterThan(50)
  })

  it('adds up: base value + contributions = the raw output, for every row of a trained model', () => {
    const random = seededRandom(7)
    const n = 2000
    const columns = Array.from({ length: 5 }, () => new Float64Array(n))
    const labels = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < 5; f++) columns[f]![i] = random() < 0.05 ? NaN : random()
      const z = 3 * (columns[0]![i]! - 0.5) + 2 * (Number.isNaN(columns[1]![i]!) ? 0.3 : columns[1]![i]!) * (columns[2]![i]! > 0.5 ? 1 : -1)
      labels[i] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0
    }
    const model = trainGbdt(columns, labels, ['a', 'b', 'c', 'd', 'e'], { nTrees: 40, maxDepth: 4, minSamplesLeaf: 10, seed: 3 })
    const explainer = new TreeExplainer(model)
    const row = new Float64Array(5)
    for (let i = 0; i < 200; i++) {
      for (let f = 0; f < 5; f++) row[f] = columns[f]![i]!
      const e = explainer.explain(row)
      expect(e.baseValue + sum(e.contributions)).toBeCloseTo(model.predictRaw(row), 9)
      expect(e.output).toBeCloseTo(model.predictRaw(row), 9)
    }
    // The base value is the cover-weighted mean output: what the empty coalition predicts.
    expect(explainer.baseValue).toBeCloseTo(model.baseScore + model.trees.reduce((s, t) => s + conditionalExpectation(t, 0, row, [false, false, false, false, false]), 0), 9)
  })

  it('gives a feature the trees never split on exactly zero, and a one-split tree all to its feature', () => {
    const tree: Tree = {
      feature: Int32Array.from([1, -1, -1]),
      threshold: Float64Array.from([0.5, 0, 0]),
      defaultLeft: Uint8Array.from([1, 0, 0]),
      left: Int32Array.from([1, -1, -1]),
      right: Int32Array.from([2, -1, -1]),
      value: Float64Array.from([0, -1, 3]),
      cover: Float64Array.from([4, 3, 1]),
      gain: new Float64Array(3),
    }
    const phi = new Float64Array(3)
    addTreeShap(tree, [0.9, 0.7, 0.1], phi)
    // E[f] = (3·−1 + 1·3)/4 = 0; the row goes right (3): all of the difference is feature 1's.
    expect(treeExpectedValue(tree)).toBe(0)
    expect(Array.from(phi)).toEqual([0, 3, 0])
    // A missing value goes where the split sends missing values (left here).
    phi.fill(0)
    addTreeShap(tree, [0.9, NaN, 0.1], phi)
    expect(Array.from(phi)).toEqual([0, -1, 0])
    expect(treeDepth(tree)).toBe(1)
  })

  it('computes the mean absolute SHAP value per feature over rows', () => {
    const random = seededRandom(11)
    const trees = [randomTree(random, 3, 3), randomTree(random, 3, 3)]
    const model = new GbdtModel(['a', 'b', 'c'], 0, trees, {})
    const explainer = new TreeExplainer(model)
    const rows = Array.from({ length: 20 }, () => randomRow(random, 3))
    const mean = explainer.meanAbsoluteShap(rows)
    for (let f = 0; f < 3; f++) {
      const expected = rows.reduce((s, x) => s + Math.abs(bruteForceShap(trees, x, 3)[f]!), 0) / rows.length
      expect(mean[f]).toBeCloseTo(expected, 9)
    }
  })
})

function hasRepeatedFeatureOnAPath(t: Tree): boolean {
  const walk = (i: number, seen: ReadonlySet<number>): boolean => {
    const f = t.feature[i]!
    if (f < 0) return false
    if (seen.has(f)) return true
    const next = new Set(seen).add(f)
    return walk(t.left[i]!, next) || walk(t.right[i]!, next)
  }
  return walk(0, new Set())
}
