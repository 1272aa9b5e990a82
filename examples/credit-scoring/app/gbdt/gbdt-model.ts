/**
 * One regression tree in flat arrays; node 0 is the root. A node with `feature[i] === -1` is a leaf.
 * An internal node sends a row left when its value is <= `threshold[i]`, and a missing value
 * (NaN) left when `defaultLeft[i]` is 1.
 */
export interface Tree {
  readonly feature: Int32Array
  readonly threshold: Float64Array
  readonly defaultLeft: Uint8Array
  readonly left: Int32Array
  readonly right: Int32Array
  /** Leaf output in log-odds, learning rate included; for internal nodes, what the node would output as a leaf. */
  readonly value: Float64Array
  /** Training rows (of the tree's subsample) that reached the node, as TreeSHAP needs. */
  readonly cover: Float64Array
  /** Loss reduction of the node's split; 0 for leaves. */
  readonly gain: Float64Array
}

/** The JSON form of a model file. */
export interface GbdtModelJson {
  readonly format: 'morsel-gbdt'
  readonly version: 1
  readonly objective: 'binary:logistic'
  readonly featureNames: readonly string[]
  /** Log-odds every prediction starts from: the training positive rate. */
  readonly baseScore: number
  readonly params: Readonly<Record<string, number>>
  readonly trees: ReadonlyArray<{
    readonly feature: readonly number[]
    readonly threshold: readonly number[]
    readonly defaultLeft: readonly number[]
    readonly left: readonly number[]
    readonly right: readonly number[]
    readonly value: readonly number[]
    readonly cover: readonly number[]
    readonly gain: readonly number[]
  }>
}

/** A trained gradient-boosted trees classifier (logistic loss). */
export class GbdtModel {
  readonly featureNames: readonly string[]
  readonly baseScore: number
  readonly trees: readonly Tree[]
  /** The parameters it was trained with, kept for the record. */
  readonly params: Readonly<Record<string, number>>

  constructor(featureNames: readonly string[], baseScore: number, trees: readonly Tree[], params: Readonly<Record<string, number>>) {
    this.featureNames = featureNames
    this.baseScore = baseScore
    this.trees = trees
    this.params = params
  }

  /** The log-odds of the positive class for one encoded row (NaN = missing). */
  predictRaw(x: ArrayLike<number>): number {
    let sum = this.baseScore
    for (const t of this.trees) sum += t.value[leafOf(t, x)] as number
    return sum
  }

  /** The probability of the positive class for one encoded row. */
  predictProba(x: ArrayLike<number>): number {
    return sigmoid(this.predictRaw(x))
  }

  /** Probabilities for rows given column by column, as the trainer takes them. */
  predictColumns(columns: readonly Float64Array[]): Float64Array {
    const n = columns[0]?.length ?? 0
    const out = new Float64Array(n)
    const row = new Float64Array(columns.length)
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < columns.length; f++) row[f] = (columns[f] as Float64Array)[i] as number
      out[i] = this.predictProba(row)
    }
    return out
  }

  /** Total split gain per feature, normalised to sum to 1: a global importance. */
  featureImportance(): Record<string, number> {
    const gain = new Float64Array(this.featureNames.length)
    for (const t of this.trees) {
      for (let i = 0; i < t.feature.length; i++) {
        const f = t.feature[i] as number
        if (f >= 0) gain[f] = (gain[f] as number) + (t.gain[i] as number)
      }
    }
    const total = gain.reduce((a, b) => a + b, 0)
    return Object.fromEntries(this.featureNames.map((name, f) => [name, total > 0 ? (gain[f] as number) / total : 0]))
  }

  toJSON(): GbdtModelJson {
    return {
      format: 'morsel-gbdt',
      version: 1,
      objective: 'binary:logistic',
      featureNames: [...this.featureNames],
      baseScore: this.baseScore,
      params: { ...this.params },
      trees: this.trees.map((t) => ({
        feature: [...t.feature],
        threshold: [...t.threshold],
        defaultLeft: [...t.defaultLeft],
        left: [...t.left],
        right: [...t.right],
        value: [...t.value],
        cover: [...t.cover],
        gain: [...t.gain],
      })),
    }
  }

  /** Reads a model from its JSON form, checking the structure so that a damaged file fails here, not in a prediction. */
  static fromJSON(json: unknown): GbdtModel {
    const j = json as Partial<GbdtModelJson> | null
    if (j === null || typeof j !== 'object' || j.format !== 'morsel-gbdt' || j.version !== 1 || j.objective !== 'binary:logistic') {
      throw new Error('Not a morsel-gbdt version 1 binary:logistic model.')
    }
    const names = j.featureNames
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error('Model file: `featureNames` must be a list of strings.')
    if (typeof j.baseScore !== 'number' || !Number.isFinite(j.baseScore)) throw new Error('Model file: `baseScore` must be a finite number.')
    if (!Array.isArray(j.trees)) throw new Error('Model file: `trees` must be a list.')
    const trees = j.trees.map((raw, k) => readTree(raw, k, names.length))
    return new GbdtModel(names, j.baseScore, trees, { ...(j.params ?? {}) })
  }
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z))
}

/** The leaf a row reaches in a tree. */
export function leafOf(t: Tree, x: ArrayLike<number>): number {
  let i = 0
  let f = t.feature[0] as number
  while (f >= 0) {
    const v = x[f] as number
    const goLeft = Number.isNaN(v) ? t.defaultLeft[i] === 1 : v <= (t.threshold[i] as number)
    i = goLeft ? (t.left[i] as number) : (t.right[i] as number)
    f = t.feature[i] as number
  }
  return i
}

function readTree(raw: unknown, k: number, nFeatures: number): Tree {
  const r = raw as Record<string, unknown> | null
  const list = (key: string): number[] => {
    const v = r?.[key]
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`Model file: tree ${k} has no numeric list \`${key}\`.`)
    return v
  }
  const feature = list('feature')
  const n = feature.length
  const cols = ['threshold', 'defaultLeft', 'left', 'right', 'value', 'cover', 'gain'].map((key) => {
    const v = list(key)
    if (v.length !== n) throw new Error(`Model file: tree ${k}: \`${key}\` has ${v.length} entries, \`feature\` has ${n}.`)
    return v
  }) as [number[], number[], number[], number[], number[], number[], number[]]
  const [threshold, defaultLeft, left, right, value, cover, gain] = cols
  if (n === 0) throw new Error(`Model file: tree ${k} has no nodes.`)
  for (let i = 0; i < n; i++) {
    const f = feature[i] as number
    if (f === -1) continue
    const l = left[i] as number
    const rt = right[i] as number
    if (!Number.isInteger(f) || f < 0 || f >= nFeatures) throw new Error(`Model file: tree ${k} node ${i} splits on feature ${f}, which does not exist.`)
    // Children come after their parent, so every path ends at a leaf.
    if (!(l > i && l < n && rt > i && rt < n)) throw new Error(`Model file: tree ${k} node ${i} has children outside the tree.`)
  }
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    defaultLeft: Uint8Array.from(defaultLeft),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
    cover: Float64Array.from(cover),
    gain: Float64Array.from(gain),
  }
}
