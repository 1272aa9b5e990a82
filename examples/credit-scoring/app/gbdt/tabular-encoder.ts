export type ColumnKind = 'numeric' | 'categorical'

export interface ColumnSpec {
  readonly name: string
  readonly kind: ColumnKind
}

export interface EncoderOptions {
  /** Categories seen fewer times than this in training share one "rare" code. Default 10. */
  readonly minCategoryCount?: number
  /** Weight of the overall positive rate in each category's smoothed rate (an m-estimate). Default 10. */
  readonly smoothing?: number
}

interface CategoricalEncoding {
  /** Category → code. */
  readonly codes: ReadonlyMap<string, number>
  /** The code of rare categories, and of categories never seen in training. */
  readonly rareCode: number
}

/** The JSON form, kept in the model file so that serving encodes exactly as training did. */
export interface TabularEncoderJson {
  readonly columns: ReadonlyArray<ColumnSpec & { readonly categories?: readonly string[]; readonly rareCode?: number }>
}

/**
 * Turns rows of mixed values into the numeric vectors the trees take.
 *
 * Numeric columns pass through (integers, bigints and doubles as numbers); null, undefined and
 * non-finite values become NaN, which the trees treat as missing.
 *
 * Categorical columns get a target-ordered ordinal encoding: each category's code is its rank by
 * smoothed positive rate in the training set, so one threshold on the code splits categories the
 * way the best binary partition by rate would, and a tree needs no one-hot columns even for
 * thousands of cities. Categories rarer than `minCategoryCount` share one code (ranked by their
 * pooled rate), as do categories first seen at serving time; null is missing (NaN).
 */
export class TabularEncoder {
  readonly columns: readonly ColumnSpec[]
  // Not a #field: TypeScript runners (jiti) compile those to WeakMap lookups, slow per value.
  private readonly categorical: ReadonlyArray<CategoricalEncoding | undefined>

  private constructor(columns: readonly ColumnSpec[], categorical: ReadonlyArray<CategoricalEncoding | undefined>) {
    this.columns = columns
    this.categorical = categorical
  }

  /** Learns the categorical codes from training rows and their 0/1 labels. */
  static fit(columns: readonly ColumnSpec[], rows: ReadonlyArray<Readonly<Record<string, unknown>>>, labels: ArrayLike<number>, options: EncoderOptions = {}): TabularEncoder {
    if (rows.length !== labels.length) throw new RangeError(`Got ${rows.length} rows for ${labels.length} labels.`)
    const minCount = options.minCategoryCount ?? 10
    const m = options.smoothing ?? 10
    let positives = 0
    for (let i = 0; i < labels.length; i++) positives += labels[i] as number
    const prior = rows.length > 0 ? positives / rows.length : 0
    const encodings = columns.map((col) => {
      if (col.kind === 'numeric') return undefined
      const stats = new Map<string, { n: number; pos: number }>()
      rows.forEach((row, i) => {
        const key = categoryOf(row[col.name])
        if (key === undefined) return
        const s = stats.get(key) ?? { n: 0, pos: 0 }
        s.n++
        s.pos += labels[i] as number
        stats.set(key, s)
      })
      const rare = { n: 0, pos: 0 }
      const common: Array<{ key: string; rate: number }> = []
      for (const [key, s] of stats) {
        if (s.n >= minCount) common.push({ key, rate: (s.pos + m * prior) / (s.n + m) })
        else {
          rare.n += s.n
          rare.pos += s.pos
        }
      }
      const RARE = '\u0000rare'
      common.push({ key: RARE, rate: (rare.pos + m * prior) / (rare.n + m) })
      common.sort((a, b) => a.rate - b.rate || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      const codes = new Map<string, number>()
      let rareCode = 0
      common.forEach((c, code) => {
        if (c.key === RARE) rareCode = code
        else codes.set(c.key, code)
      })
      return { codes, rareCode }
    })
    return new TabularEncoder(columns.map((c) => ({ name: c.name, kind: c.kind })), encodings)
  }

  get featureNames(): string[] {
    return this.columns.map((c) => c.name)
  }

  /** The code of a category, or NaN when missing. */
  encodeValue(column: number, value: unknown): number {
    const enc = this.categorical[column]
    if (enc === undefined) return numberOf(value)
    const key = categoryOf(value)
    if (key === undefined) return NaN
    return enc.codes.get(key) ?? enc.rareCode
  }

  encodeRow(row: Readonly<Record<string, unknown>>): Float64Array {
    const out = new Float64Array(this.columns.length)
    this.columns.forEach((c, f) => {
      out[f] = this.encodeValue(f, row[c.name])
    })
    return out
  }

  /** Encodes many rows column by column, the layout `trainGbdt` takes. */
  encodeColumns(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): Float64Array[] {
    return this.columns.map((c, f) => {
      const out = new Float64Array(rows.length)
      for (let i = 0; i < rows.length; i++) out[i] = this.encodeValue(f, (rows[i] as Readonly<Record<string, unknown>>)[c.name])
      return out
    })
  }

  toJSON(): TabularEncoderJson {
    return {
      columns: this.columns.map((c, f) => {
        const enc = this.categorical[f]
        if (enc === undefined) return { name: c.name, kind: c.kind }
        const categories = [...enc.codes.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k)
        // In code order, without the rare code's slot, which `rareCode` places.
        return { name: c.name, kind: c.kind, categories, rareCode: enc.rareCode }
      }),
    }
  }

  static fromJSON(json: unknown): TabularEncoder {
    const j = json as Partial<TabularEncoderJson> | null
    if (j === null || typeof j !== 'object' || !Array.isArray(j.columns)) throw new Error('Model file: the encoder has no `columns` list.')
    const columns: ColumnSpec[] = []
    const encodings: Array<CategoricalEncoding | undefined> = []
    for (const raw of j.columns as readonly unknown[]) {
      const c = (raw ?? {}) as { name?: unknown; kind?: unknown; categories?: unknown; rareCode?: unknown }
      if (typeof c.name !== 'string' || (c.kind !== 'numeric' && c.kind !== 'categorical')) {
        throw new Error(`Model file: encoder column ${JSON.stringify(raw)} needs a name and a kind of 'numeric' or 'categorical'.`)
      }
      columns.push({ name: c.name, kind: c.kind })
      if (c.kind === 'numeric') {
        encodings.push(undefined)
        continue
      }
      const cats = c.categories
      const rareCode = c.rareCode
      if (!Array.isArray(cats) || !cats.every((x): x is string => typeof x === 'string') || typeof rareCode !== 'number' || !Number.isInteger(rareCode) || rareCode < 0 || rareCode > cats.length) {
        throw new Error(`Model file: categorical column '${c.name}' needs \`categories\` (strings) and an integer \`rareCode\` within them.`)
      }
      // Codes skip the rare code's position: categories below it keep their index, those after it shift by one.
      const codes = new Map<string, number>()
      cats.forEach((k, i) => codes.set(k, i < rareCode ? i : i + 1))
      encodings.push({ codes, rareCode })
    }
    return new TabularEncoder(columns, encodings)
  }
}

function categoryOf(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  return undefined
}

function numberOf(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'boolean') return v ? 1 : 0
  return NaN
}
