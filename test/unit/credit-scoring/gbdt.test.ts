import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MISSING_BIN, binColumns, binOf } from '../../../examples/credit-scoring/app/gbdt/bin-columns.js'
import { GbdtModel, leafOf } from '../../../examples/credit-scoring/app/gbdt/gbdt-model.js'
import { binaryMetrics, rocAuc } from '../../../examples/credit-scoring/app/gbdt/metrics.js'
import { TabularEncoder } from '../../../examples/credit-scoring/app/gbdt/tabular-encoder.js'
import { trainGbdt } from '../../../examples/credit-scoring/app/gbdt/train-gbdt.js'
import { seededRandom } from '../../../src/internal/random.js'

/** n rows of `features` uniform columns; the label is drawn from P(y=1) = prob(row). */
function dataset(n: number, features: number, prob: (x: Float64Array) => number, seed: number): { columns: Float64Array[]; labels: Uint8Array } {
  const random = seededRandom(seed)
  const columns = Array.from({ length: features }, () => new Float64Array(n))
  const labels = new Uint8Array(n)
  const row = new Float64Array(features)
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < features; f++) {
      row[f] = random()
      ;(columns[f] as Float64Array)[i] = row[f] as number
    }
    labels[i] = random() < prob(row) ? 1 : 0
  }
  return { columns, labels }
}

const names = (k: number): string[] => Array.from({ length: k }, (_, i) => `x${i}`)

function bruteForceAuc(scores: readonly number[], labels: readonly number[]): number {
  let pairs = 0
  let wins = 0
  for (let i = 0; i < scores.length; i++) {
    for (let j = 0; j < scores.length; j++) {
      if (labels[i] !== 1 || labels[j] !== 0) continue
      pairs++
      if ((scores[i] as number) > (scores[j] as number)) wins += 1
      else if (scores[i] === scores[j]) wins += 0.5
    }
  }
  return pairs === 0 ? NaN : wins / pairs
}

describe('rocAuc', () => {
  it('equals the brute-force pairwise AUC, ties counting half', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 1 })), { minLength: 2, maxLength: 60 }),
        (pairs) => {
          // Few distinct scores, so that ties are common.
          const scores = pairs.map(([s]) => s / 6)
          const labels = pairs.map(([, y]) => y)
          const expected = bruteForceAuc(scores, labels)
          const got = rocAuc(scores, labels)
          if (Number.isNaN(expected)) expect(got).toBeNaN()
          else expect(got).toBeCloseTo(expected, 12)
        },
      ),
    )
  })

  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 for constant scores', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1)
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0)
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5)
  })

  it('rejects labels other than 0 and 1, mismatched lengths and NaN scores', () => {
    expect(() => rocAuc([0.1, 0.2], [0, 2])).toThrow(/0 or 1/)
    expect(() => rocAuc([0.1], [0, 1])).toThrow(/1 predictions for 2 labels/)
    expect(() => rocAuc([NaN, 0.2], [0, 1])).toThrow(/NaN/)
  })

  it('binaryMetrics reports accuracy at the threshold and the log loss', () => {
    const m = binaryMetrics([0.9, 0.2, 0.6, 0.4], [1, 0, 0, 1])
    expect(m.accuracy).toBe(0.5)
    expect(m.logLoss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8) + Math.log(0.4) + Math.log(0.4)) / 4, 12)
    expect(m.positiveRate).toBe(0.5)
    expect(m.rows).toBe(4)
  })
})

describe('binColumns', () => {
  it('puts every value in the bin whose cut bounds it, missing values in the missing bin', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(NaN), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 2, max: 32 }),
        (values, maxBins) => {
          const col = Float64Array.from(values)
          const { bins, features } = binColumns([col], maxBins)
          const { cuts, nBins } = features[0]!
          expect(nBins).toBeLessThanOrEqual(maxBins)
          expect(nBins).toBe(cuts.length + 1)
          for (let k = 1; k < cuts.length; k++) expect(cuts[k]!).toBeGreaterThan(cuts[k - 1]!)
          col.forEach((v, i) => {
            const b = bins[0]![i]!
            expect(b).toBe(binOf(v, cuts))
            if (Number.isNaN(v)) expect(b).toBe(MISSING_BIN)
            else {
              if (b < cuts.length) expect(v).toBeLessThanOrEqual(cuts[b]!)
              if (b > 0) expect(v).toBeGreaterThan(cuts[b - 1]!)
            }
          })
        },
      ),
    )
  })

  it('gives each distinct value its own bin when there are few, and equal-count bins when there are many', () => {
    const few = binColumns([Float64Array.from([3, 1, 2, 2, 3, 1])], 16).features[0]!
    expect([...few.cuts]).toEqual([1.5, 2.5])
    const many = Float64Array.from({ length: 1000 }, (_, i) => i)
    const { bins, features } = binColumns([many], 10)
    expect(features[0]!.nBins).toBe(10)
    const counts = new Array<number>(10).fill(0)
    for (const b of bins[0]!) counts[b]!++
    for (const c of counts) expect(c).toBe(100)
  })
})

describe('trainGbdt', () => {
  it('learns a known function: y = 1 when x0 + x1 > 1, ignoring noise features', () => {
    const rule = (x: Float64Array): number => (x[0]! + x[1]! > 1 ? 1 : 0)
    const train = dataset(4000, 4, rule, 1)
    const test = dataset(2000, 4, rule, 2)
    const model = trainGbdt(train.columns, train.labels, names(4), { nTrees: 100, maxDepth: 3, seed: 7 })
    const m = binaryMetrics(model.predictColumns(test.columns), test.labels)
    expect(m.accuracy).toBeGreaterThan(0.95)
    expect(m.auc).toBeGreaterThan(0.99)
    const importance = model.featureImportance()
    expect(importance.x0! + importance.x1!).toBeGreaterThan(0.9)
  })

  it('beats the constant baseline on held-out data from a noisy logistic model', () => {
    const prob = (x: Float64Array): number => 1 / (1 + Math.exp(-(4 * x[0]! - 3 * x[2]! * x[1]! - 0.5)))
    const train = dataset(5000, 5, prob, 3)
    const test = dataset(3000, 5, prob, 4)
    const model = trainGbdt(train.columns, train.labels, names(5), { nTrees: 80, maxDepth: 3, learningRate: 0.1, seed: 1 })
    const m = binaryMetrics(model.predictColumns(test.columns), test.labels)
    const rate = train.labels.reduce((a, b) => a + b, 0) / train.labels.length
    const baseline = binaryMetrics(new Float64Array(test.labels.length).fill(rate), test.labels)
    expect(baseline.auc).toBe(0.5)
    expect(m.auc).toBeGreaterThan(0.75)
    expect(m.logLoss).toBeLessThan(baseline.logLoss - 0.05)
    expect(m.accuracy).toBeGreaterThan(Math.max(baseline.accuracy, 1 - baseline.accuracy))
  })

  it('learns where missing values go: the label is "x0 is missing"', () => {
    const random = seededRandom(5)
    const n = 2000
    const x0 = new Float64Array(n)
    const labels = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const missing = random() < 0.3
      x0[i] = missing ? NaN : random()
      labels[i] = missing ? 1 : 0
    }
    const model = trainGbdt([x0], labels, ['x0'], { nTrees: 20, maxDepth: 1, subsample: 1, learningRate: 0.5 })
    expect(model.predictProba([NaN])).toBeGreaterThan(0.95)
    expect(model.predictProba([0.5])).toBeLessThan(0.05)
    // Values beyond the training range are present values, and go where present values went.
    expect(model.predictProba([1e9])).toBeLessThan(0.05)
  })

  it('keeps per-node covers: a parent covers exactly its two children, the root the tree’s sample', () => {
    const train = dataset(3000, 3, (x) => x[0]!, 11)
    const model = trainGbdt(train.columns, train.labels, names(3), { nTrees: 10, maxDepth: 4, subsample: 0.5, seed: 3 })
    for (const t of model.trees) {
      expect(t.cover[0]).toBeGreaterThan(1300)
      expect(t.cover[0]).toBeLessThan(1700)
      for (let i = 0; i < t.feature.length; i++) {
        if (t.feature[i] === -1) {
          expect(t.cover[i]).toBeGreaterThanOrEqual(20)
          continue
        }
        expect(t.cover[i]).toBe(t.cover[t.left[i]!]! + t.cover[t.right[i]!]!)
        expect(t.gain[i]).toBeGreaterThan(0)
      }
    }
  })

  it('routes training rows by raw value exactly as the trainer routed them by bin (thresholds agree with bins)', () => {
    const train = dataset(1500, 3, (x) => (x[0]! > 0.3 ? 0.8 : 0.2), 21)
    // Integer-valued, tied data with missing values, where a threshold off by one bin would show.
    const cols = train.columns.map((c, f) => c.map((v, i) => (f === 2 && i % 4 === 0 ? NaN : Math.floor(v * 7))))
    const model = trainGbdt(cols, train.labels, names(3), { nTrees: 8, maxDepth: 3, subsample: 1, minSamplesLeaf: 5 })
    const row = new Float64Array(3)
    for (const t of model.trees) {
      // With every row in every tree, a leaf's cover is the number of training rows the trainer put there.
      const reached = new Map<number, number>()
      for (let i = 0; i < 1500; i++) {
        for (let f = 0; f < 3; f++) row[f] = cols[f]![i]!
        const leaf = leafOf(t, row)
        reached.set(leaf, (reached.get(leaf) ?? 0) + 1)
      }
      for (let i = 0; i < t.feature.length; i++) if (t.feature[i] === -1) expect(reached.get(i) ?? 0).toBe(t.cover[i])
    }
  })

  it('is deterministic for a seed, and the seed matters when rows are subsampled', () => {
    const train = dataset(2000, 3, (x) => x[0]! * x[1]!, 8)
    const a = trainGbdt(train.columns, train.labels, names(3), { nTrees: 20, subsample: 0.7, seed: 42 })
    const b = trainGbdt(train.columns, train.labels, names(3), { nTrees: 20, subsample: 0.7, seed: 42 })
    const c = trainGbdt(train.columns, train.labels, names(3), { nTrees: 20, subsample: 0.7, seed: 43 })
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c))
  })

  it('round-trips through JSON with identical predictions, missing values included', () => {
    const train = dataset(2000, 3, (x) => (x[0]! < 0.5 ? 0.9 : 0.1), 9)
    train.columns[1]!.forEach((_, i, col) => {
      if (i % 7 === 0) col[i] = NaN
    })
    const model = trainGbdt(train.columns, train.labels, names(3), { nTrees: 30, seed: 2 })
    const loaded = GbdtModel.fromJSON(JSON.parse(JSON.stringify(model)))
    const test = dataset(500, 3, () => 0.5, 10)
    test.columns[0]!.forEach((_, i, col) => {
      if (i % 5 === 0) col[i] = NaN
    })
    expect([...loaded.predictColumns(test.columns)]).toEqual([...model.predictColumns(test.columns)])
    expect(loaded.trees.map((t) => [...t.cover])).toEqual(model.trees.map((t) => [...t.cover]))
  })

  it('rejects damaged model files and bad training input with messages that say what is wrong', () => {
    const train = dataset(200, 2, () => 0.5, 12)
    const json = JSON.parse(JSON.stringify(trainGbdt(train.columns, train.labels, names(2), { nTrees: 2 })))
    expect(() => GbdtModel.fromJSON({ ...json, format: 'xgboost' })).toThrow(/morsel-gbdt/)
    const bad = structuredClone(json)
    bad.trees[0].feature[0] = 9
    expect(() => GbdtModel.fromJSON(bad)).toThrow(/feature 9/)
    const cut = structuredClone(json)
    cut.trees[0].cover.pop()
    expect(() => GbdtModel.fromJSON(cut)).toThrow(/cover/)
    expect(() => trainGbdt(train.columns, Uint8Array.from({ length: 200 }, () => 2), names(2))).toThrow(/0 or 1/)
    expect(() => trainGbdt(train.columns, train.labels, ['only_one'])).toThrow(/one name per feature/)
    expect(() => trainGbdt(train.columns, train.labels, names(2), { maxBins: 300 })).toThrow(/maxBins/)
  })
})

describe('TabularEncoder', () => {
  const rows = [
    ...Array.from({ length: 20 }, (_, i) => ({ home: 'RENT', income: 1000 + i, y: i < 10 ? 1 : 0 })),
    ...Array.from({ length: 20 }, (_, i) => ({ home: 'OWN', income: BigInt(2000 + i), y: i < 2 ? 1 : 0 })),
    ...Array.from({ length: 20 }, (_, i) => ({ home: 'MORTGAGE', income: null, y: i < 5 ? 1 : 0 })),
    { home: 'OTHER', income: 5, y: 1 },
    { home: null, income: Number.POSITIVE_INFINITY, y: 0 },
  ]
  const labels = rows.map((r) => r.y)
  const spec = [
    { name: 'home', kind: 'categorical' as const },
    { name: 'income', kind: 'numeric' as const },
  ]

  it('orders categories by smoothed positive rate, pools rare ones, sends unseen ones to the rare code and null to NaN', () => {
    const enc = TabularEncoder.fit(spec, rows, labels, { minCategoryCount: 5, smoothing: 0 })
    const code = (v: unknown): number => enc.encodeValue(0, v)
    // Rates: OWN 0.1 < MORTGAGE 0.25 < RENT 0.5 < rare (OTHER) 1.0.
    expect([code('OWN'), code('MORTGAGE'), code('RENT'), code('OTHER')]).toEqual([0, 1, 2, 3])
    expect(code('BOAT')).toBe(code('OTHER'))
    expect(code(null)).toBeNaN()
    expect([...enc.encodeRow({ home: 'RENT', income: 12n })]).toEqual([2, 12])
    expect(enc.encodeValue(1, null)).toBeNaN()
    expect(enc.encodeValue(1, Number.POSITIVE_INFINITY)).toBeNaN()
  })

  it('round-trips through JSON with identical encodings', () => {
    const enc = TabularEncoder.fit(spec, rows, labels, { minCategoryCount: 5, smoothing: 3 })
    const back = TabularEncoder.fromJSON(JSON.parse(JSON.stringify(enc)))
    for (const v of ['OWN', 'MORTGAGE', 'RENT', 'OTHER', 'BOAT', null]) expect(back.encodeValue(0, v)).toEqual(enc.encodeValue(0, v))
    expect(back.encodeColumns(rows).map((c) => [...c])).toEqual(enc.encodeColumns(rows).map((c) => [...c]))
    expect(() => TabularEncoder.fromJSON({ columns: [{ name: 'home', kind: 'categorical', categories: ['A'], rareCode: 5 }] })).toThrow(/rareCode/)
  })
})
