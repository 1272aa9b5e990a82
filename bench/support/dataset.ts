import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { serializeEntityKey, featureFieldKey } from '../../src/encoding/index.js'
import { FeatureStore } from '../../src/index.js'
import { ValueType, type ValueTypeCode } from '../../src/types/value-type.js'

/**
 * The online data every read part serves: Feast's credit-scoring views (two entities, 6 + 9
 * features, the request of the AWS guidance) and the Feast benchmark's wide entity (25 views × 10
 * features in one hash per entity). Generated in DuckDB with range() into Parquet, then
 * materialized by Morsel: the same path users take.
 */

export const WIDE_VIEWS = 25
export const WIDE_FEATURES = 10

export interface ShapeView {
  readonly name: string
  readonly ttlSeconds: number
  readonly features: ReadonlyArray<{ readonly name: string; readonly valueType: ValueTypeCode }>
}

/** Views sharing one entity key: one Redis hash per entity. */
export interface ShapeGroup {
  readonly joinKeys: ReadonlyArray<{ readonly name: string; readonly valueType: ValueTypeCode }>
  readonly views: readonly ShapeView[]
}

export interface Shape {
  /** `1x15`, `1x50`, `100x50`, `100x250`. */
  readonly id: string
  readonly label: string
  readonly rows: number
  readonly groups: readonly ShapeGroup[]
  /** `view:feature` references, in response order. */
  readonly features: readonly string[]
}

const CREDIT_ZIP: ShapeView = {
  name: 'zipcode_features',
  ttlSeconds: 3650 * 86400,
  features: [
    { name: 'city', valueType: ValueType.STRING },
    { name: 'state', valueType: ValueType.STRING },
    { name: 'location_type', valueType: ValueType.STRING },
    { name: 'tax_returns_filed', valueType: ValueType.INT64 },
    { name: 'population', valueType: ValueType.INT64 },
    { name: 'total_wages', valueType: ValueType.INT64 },
  ],
}
const CREDIT_HISTORY: ShapeView = {
  name: 'credit_history',
  ttlSeconds: 90 * 86400,
  features: ['credit_card_due', 'mortgage_due', 'student_loan_due', 'vehicle_loan_due', 'hard_pulls', 'missed_payments_2y', 'missed_payments_1y', 'missed_payments_6m', 'bankruptcies'].map((name) => ({
    name,
    valueType: ValueType.INT64,
  })),
}

const wideView = (v: number): ShapeView => ({
  name: `wide_${String(v).padStart(2, '0')}`,
  ttlSeconds: 0,
  features: Array.from({ length: WIDE_FEATURES }, (_, j) => ({
    name: `w${String(v).padStart(2, '0')}_f${j}`,
    valueType: j % 2 === 0 ? ValueType.INT64 : ValueType.DOUBLE,
  })),
})
const WIDE = Array.from({ length: WIDE_VIEWS }, (_, v) => wideView(v))

const refs = (groups: readonly ShapeGroup[]): string[] => groups.flatMap((g) => g.views.flatMap((v) => v.features.map((f) => `${v.name}:${f.name}`)))

function shape(id: string, label: string, rows: number, groups: ShapeGroup[]): Shape {
  return { id, label, rows, groups, features: refs(groups) }
}

const ZIP_KEY = { name: 'zipcode', valueType: ValueType.INT64 }
const SSN_KEY = { name: 'dob_ssn', valueType: ValueType.STRING }
const WIDE_KEY = { name: 'entity_id', valueType: ValueType.INT64 }

export const SHAPES: readonly Shape[] = [
  shape('1x15', '1 entity × 15 features (credit scoring: 2 entity keys, 2 views)', 1, [
    { joinKeys: [ZIP_KEY], views: [CREDIT_ZIP] },
    { joinKeys: [SSN_KEY], views: [CREDIT_HISTORY] },
  ]),
  shape('1x50', '1 entity × 50 features (5 of 25 views)', 1, [{ joinKeys: [WIDE_KEY], views: WIDE.slice(0, 5) }]),
  shape('100x50', '100 entities × 50 features', 100, [{ joinKeys: [WIDE_KEY], views: WIDE.slice(0, 5) }]),
  shape('100x250', '100 entities × 250 features (every view)', 100, [{ joinKeys: [WIDE_KEY], views: WIDE }]),
]

/** The value of join key `key` for entity number n (0 ≤ n < entities). */
export function entityValue(key: string, n: number): number | string {
  switch (key) {
    case 'zipcode':
      return 10_000 + n
    case 'dob_ssn':
      return `${19_500_101 + (n % 400_000)}_${String(n).padStart(4, '0').slice(-4)}_${n}`
    default:
      return n
  }
}

/** DuckDB's form of `entityValue`, over `i`. */
const ENTITY_SQL: Record<string, string> = {
  zipcode: '(10000 + i)::BIGINT',
  dob_ssn: `(19500101 + i % 400000)::VARCHAR || '_' || right(lpad(i::VARCHAR, 4, '0'), 4) || '_' || i::VARCHAR`,
  entity_id: 'i::BIGINT',
}

/** A request body's `entities`: `rows` distinct entities per request, drawn from a seeded generator. */
export function makeRequests(s: Shape, entities: number, count: number, seed = 1): Array<Record<string, Array<number | string>>> {
  let state = seed >>> 0
  const next = (): number => {
    // xorshift32: reproducible across runs and processes.
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % entities
  }
  const keys = [...new Set(s.groups.flatMap((g) => g.joinKeys.map((k) => k.name)))]
  const out: Array<Record<string, Array<number | string>>> = []
  for (let i = 0; i < count; i++) {
    const picked = new Set<number>()
    while (picked.size < s.rows) picked.add(next())
    const body: Record<string, Array<number | string>> = {}
    // The credit request joins one ZIP code and one applicant: different entities.
    const ids = [...picked]
    keys.forEach((k, j) => (body[k] = ids.map((n) => entityValue(k, (n + j * 7919) % entities))))
    out.push(body)
  }
  return out
}

/** The Redis key Morsel reads for an entity: the serialized entity key followed by the project. */
export function redisKey(group: ShapeGroup, values: ReadonlyArray<number | string>, project: string): Buffer {
  return Buffer.concat([serializeEntityKey(group.joinKeys, values, 3), Buffer.from(project)])
}

/** The HMGET field list Morsel compiles for a group: features view by view, then each `_ts:<view>`. */
export function hmgetFields(group: ShapeGroup): Buffer[] {
  return [...group.views.flatMap((v) => v.features.map((f) => featureFieldKey(v.name, f.name))), ...group.views.map((v) => Buffer.from(`_ts:${v.name}`))]
}

export interface BenchRepo {
  readonly path: string
  readonly project: string
  readonly entities: number
  /** Writes feature_store.yaml for another online store (same project, definitions and data). */
  withOnlineStore(onlineStoreYaml: string): BenchRepo
  remove(): void
}

const DTYPE: Partial<Record<ValueTypeCode, string>> = { [ValueType.INT64]: 'types.Int64', [ValueType.DOUBLE]: 'types.Float64', [ValueType.STRING]: 'types.String' }

function definitions(): string {
  const lines = [
    `import { Entity, FeatureService, FeatureView, FileSource, types } from 'morsel'`,
    `export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })`,
    `export const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })`,
    `export const entity = new Entity({ name: 'entity_id', valueType: types.Int64 })`,
  ]
  const view = (v: ShapeView, entity: string, path: string): string =>
    `export const ${v.name} = new FeatureView({ name: '${v.name}', entities: [${entity}], ttl: ${v.ttlSeconds === 0 ? 0 : `{ days: ${v.ttlSeconds / 86400} }`},
  source: new FileSource({ name: '${v.name}_source', path: '${path}', timestampField: 'event_timestamp' }),
  schema: { ${v.features.map((f) => `${f.name}: ${DTYPE[f.valueType]}`).join(', ')} } })`
  lines.push(view(CREDIT_ZIP, 'zipcode', 'data/zipcode.parquet'), view(CREDIT_HISTORY, 'dobSsn', 'data/credit_history.parquet'))
  for (const v of WIDE) lines.push(view(v, 'entity', 'data/wide.parquet'))
  lines.push(`export const credit_v1 = new FeatureService({ name: 'credit_v1', features: [zipcode_features, credit_history] })`)
  return `${lines.join('\n')}\n`
}

function yaml(project: string, online: string): string {
  return `project: ${project}\nregistry: data/registry.json\nprovider: local\n${online}offline_store: duckdb\nentity_key_serialization_version: 3\n`
}

/** Runs statements in a fresh in-memory DuckDB. */
export async function duckdb(...statements: string[]): Promise<void> {
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  try {
    await conn.run("SET TimeZone = 'UTC'")
    for (const s of statements) await conn.run(s)
  } finally {
    conn.closeSync()
    db.closeSync()
  }
}

/**
 * A feature repository with the bench's definitions and `entities` rows per entity in Parquet
 * (event times within the last hour, so every ttl holds), applied, not yet materialized.
 */
export async function createBenchRepo(entities: number, onlineStoreYaml: string): Promise<BenchRepo> {
  const dir = mkdtempSync(join(tmpdir(), 'morsel-bench-'))
  mkdirSync(join(dir, 'data'))
  const project = `bench_${process.pid}_${Date.now().toString(36)}`
  writeFileSync(join(dir, 'features.ts'), definitions())
  writeFileSync(join(dir, 'feature_store.yaml'), yaml(project, onlineStoreYaml))
  const d = join(dir, 'data')
  const ts = `now()::TIMESTAMPTZ - to_seconds((i % 3600)::BIGINT) AS event_timestamp`
  const wideCols = WIDE.flatMap((v, vi) =>
    v.features.map((f, j) => (f.valueType === ValueType.INT64 ? `((i * ${vi * 10 + j + 7}) % 1000003)::BIGINT AS ${f.name}` : `(hash(i * 257 + ${vi * 10 + j}) % 10000000) / 9973.0 AS ${f.name}`)),
  )
  await duckdb(
    `COPY (SELECT ${ENTITY_SQL.zipcode} AS zipcode, ${ts}, 'City ' || (i % 977) AS city, ['TX','CA','NY','WA','FL'][(i % 5) + 1] AS state, 'PRIMARY' AS location_type,
      ((i * 7) % 50000)::BIGINT AS tax_returns_filed, ((i * 13) % 90000)::BIGINT AS population, ((i * 10007) % 900000000)::BIGINT AS total_wages
      FROM range(${entities}) t(i)) TO '${d}/zipcode.parquet' (FORMAT parquet)`,
    `COPY (SELECT ${ENTITY_SQL.dob_ssn} AS dob_ssn, ${ts}, ((i * 31) % 9000)::BIGINT AS credit_card_due, ((i * 7919) % 900000)::BIGINT AS mortgage_due,
      ((i * 17) % 60000)::BIGINT AS student_loan_due, ((i * 19) % 40000)::BIGINT AS vehicle_loan_due, (i % 9)::BIGINT AS hard_pulls,
      (i % 5)::BIGINT AS missed_payments_2y, (i % 3)::BIGINT AS missed_payments_1y, (i % 2)::BIGINT AS missed_payments_6m, (i % 2)::BIGINT AS bankruptcies
      FROM range(${entities}) t(i)) TO '${d}/credit_history.parquet' (FORMAT parquet)`,
    `COPY (SELECT ${ENTITY_SQL.entity_id} AS entity_id, ${ts}, ${wideCols.join(', ')} FROM range(${entities}) t(i)) TO '${d}/wide.parquet' (FORMAT parquet)`,
  )
  const store = await FeatureStore.open(dir)
  try {
    await store.apply()
  } finally {
    await store.close()
  }
  const make = (path: string): BenchRepo => ({
    path,
    project,
    entities,
    withOnlineStore: (online) => {
      const other = mkdtempSync(join(tmpdir(), 'morsel-bench-'))
      cpSync(path, other, { recursive: true })
      writeFileSync(join(other, 'feature_store.yaml'), yaml(project, online))
      return make(other)
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  })
  return make(dir)
}

/** Loads every view's rows into the repository's online store; returns rows written. */
export async function materializeAll(repo: BenchRepo): Promise<number> {
  const store = await FeatureStore.open(repo.path)
  try {
    const now = Date.now()
    const result = await store.materialize({ start: new Date(now - 2 * 3600_000), end: new Date(now + 60_000) })
    return result.views.reduce((n, v) => n + v.written, 0)
  } finally {
    await store.close()
  }
}
