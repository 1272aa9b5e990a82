/**
 * Offline store benchmarks. Run: `npx jiti bench/offline.bench.ts [pit|materialize|all] [rows]`.
 *
 * pit          The point-in-time join of `rows` entity rows (default 1M, Parquet) against two views
 *              (1M rows each, 7 and 8 features, one keyed by an Int64, one by a String), written to
 *              Parquet by `getHistoricalFeatures(...).toFile`, against the same join written by hand
 *              as DuckDB SQL (ASOF joins, no ordering guarantee). Rows/s and peak RSS.
 * materialize  `materialize` of `rows` entities × 15 features (default 100k and 1M, one process
 *              each, so peak RSS is per size) from Parquet into Redis (127.0.0.1:6379 or
 *              MORSEL_BENCH_REDIS_URL). Rows/s and peak RSS.
 *
 * It measures the build (`npm run build` first): through jiti every call between modules pays for
 * an export getter, which would be measured instead of Morsel.
 *
 * Numbers on a shared 2-vCPU machine move ±30% between runs; each figure is the best of several.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import type * as Morsel from '../src/index.js'

async function morsel(): Promise<typeof Morsel> {
  const dist = join(import.meta.dirname, '../dist/index.js')
  if (!existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first.')
  return (await import(pathToFileURL(dist).href)) as typeof Morsel
}

const which = process.argv[2] ?? 'all'
const rowsArg = process.argv[3] === undefined ? undefined : Number(process.argv[3])
const REDIS = process.env.MORSEL_BENCH_REDIS_URL ?? '127.0.0.1:6379'

const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024)

async function duck(sql: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  await conn.run("SET TimeZone = 'UTC'")
  await conn.run(sql)
  conn.closeSync()
  db.closeSync()
}

function repo(features: string, online: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'morsel-bench-'))
  mkdirSync(join(dir, 'data'))
  writeFileSync(join(dir, 'feature_store.yaml'), `project: bench_${process.pid}\nregistry: data/registry.json\n${online}`)
  writeFileSync(join(dir, 'features.ts'), features)
  return dir
}

async function pit(n: number): Promise<void> {
  const dir = repo(
    `import { Entity, FeatureView, FileSource, types } from 'morsel'
export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
export const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })
export const a = new FeatureView({ name: 'a', entities: [zipcode], ttl: { days: 3650 },
  source: new FileSource({ name: 'a_src', path: 'data/a.parquet', timestampField: 'event_timestamp', createdTimestampColumn: 'created' }),
  schema: { f1: types.Int64, f2: types.Int64, f3: types.Float64, f4: types.Float64, f5: types.String, f6: types.Int32, f7: types.Int64 } })
export const b = new FeatureView({ name: 'b', entities: [dobSsn], ttl: { days: 90 },
  source: new FileSource({ name: 'b_src', path: 'data/b.parquet', timestampField: 'event_timestamp', createdTimestampColumn: 'created' }),
  schema: { g1: types.Int64, g2: types.Int64, g3: types.Int64, g4: types.Float64, g5: types.Float64, g6: types.Float64, g7: types.Int32, g8: types.Int32 } })
`,
    'online_store:\n  type: sqlite\n  path: data/online.db\n',
  )
  const d = join(dir, 'data')
  await duck(`COPY (SELECT (i % 200000)::BIGINT AS zipcode, TIMESTAMPTZ '2020-01-01' + to_seconds((i // 200000) * 86400*30 + (hash(i) % 86400)::BIGINT) AS event_timestamp, TIMESTAMPTZ '2020-01-01' + to_seconds(i) AS created, i % 1000 AS f1, (i * 7) % 1000 AS f2, random() AS f3, random() AS f4, 'city_' || (i % 500) AS f5, (i%3)::INT AS f6, (i % 17)::BIGINT AS f7 FROM range(1000000) t(i)) TO '${d}/a.parquet' (FORMAT parquet)`)
  await duck(`COPY (SELECT 'ssn_' || (i % 100000) AS dob_ssn, TIMESTAMPTZ '2020-01-01' + to_seconds((i // 100000) * 86400*15 + (hash(i) % 86400)::BIGINT) AS event_timestamp, TIMESTAMPTZ '2020-01-01' + to_seconds(i) AS created, i % 1000 AS g1, i % 100 AS g2, i % 10 AS g3, random() AS g4, random() AS g5, random() AS g6, (i%2)::INT AS g7, (i%9)::INT AS g8 FROM range(1000000) t(i)) TO '${d}/b.parquet' (FORMAT parquet)`)
  await duck(`COPY (SELECT (hash(i) % 200000)::BIGINT AS zipcode, 'ssn_' || (hash(i*3) % 100000) AS dob_ssn, TIMESTAMPTZ '2020-01-01' + to_seconds((hash(i*5) % (86400*200))::BIGINT) AS event_timestamp, i % 2 AS label FROM range(${n}) t(i)) TO '${d}/entities.parquet' (FORMAT parquet)`)

  const { FeatureStore } = await morsel()
  const store = await FeatureStore.open(dir)
  await store.apply()
  const job = store.getHistoricalFeatures({ entities: { path: join(d, 'entities.parquet') }, features: ['a:f1', 'a:f2', 'a:f3', 'a:f4', 'a:f5', 'a:f6', 'a:f7', 'b:g1', 'b:g2', 'b:g3', 'b:g4', 'b:g5', 'b:g6', 'b:g7', 'b:g8'] })
  const ours: number[] = []
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    const { rows } = await job.toFile(join(d, 'out.parquet'))
    ours.push(performance.now() - t0)
    if (rows !== n) throw new Error(`expected ${n} rows, got ${rows}`)
  }
  const rss = peakRssMb()
  await store.close()

  // The same join by hand: what an engineer would write in DuckDB for this data.
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  const hand: number[] = []
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    await conn.run(`COPY (SELECT e.*, a.f1, a.f2, a.f3, a.f4, a.f5, a.f6, a.f7, b.g1, b.g2, b.g3, b.g4, b.g5, b.g6, b.g7, b.g8
FROM read_parquet('${d}/entities.parquet') e
ASOF LEFT JOIN read_parquet('${d}/a.parquet') a ON e.zipcode = a.zipcode AND e.event_timestamp >= a.event_timestamp
ASOF LEFT JOIN read_parquet('${d}/b.parquet') b ON e.dob_ssn = b.dob_ssn AND e.event_timestamp >= b.event_timestamp) TO '${d}/hand.parquet' (FORMAT parquet)`)
    hand.push(performance.now() - t0)
  }
  conn.closeSync()
  db.closeSync()
  const m = Math.min(...ours)
  const h = Math.min(...hand)
  console.log(`| ${n} | ${(m / 1000).toFixed(2)} s | ${Math.round(n / (m / 1000))} | ${(h / 1000).toFixed(2)} s | ${(m / h).toFixed(2)}× | ${rss} MB |`)
  rmSync(dir, { recursive: true, force: true })
}

async function materialize(n: number): Promise<void> {
  const features = Array.from({ length: 15 }, (_, i) => `f${i}`)
  const dir = repo(
    `import { Entity, FeatureView, FileSource, types } from 'morsel'
export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })
export const stats = new FeatureView({ name: 'stats', entities: [driver], ttl: 0,
  source: new FileSource({ name: 'stats_src', path: 'data/stats.parquet', timestampField: 'event_timestamp' }),
  schema: { ${features.map((f, i) => `${f}: ${i % 3 === 0 ? 'types.Int64' : i % 3 === 1 ? 'types.Float64' : 'types.String'}`).join(', ')} } })
`,
    `online_store:\n  type: redis\n  connection_string: ${REDIS}\n`,
  )
  const cols = features.map((f, i) => (i % 3 === 0 ? `(i * ${i + 1})::BIGINT AS ${f}` : i % 3 === 1 ? `i / ${i + 1}.0 AS ${f}` : `'v' || (i % ${100 + i}) AS ${f}`))
  await duck(`COPY (SELECT i::BIGINT AS driver_id, TIMESTAMPTZ '2024-01-01' + to_seconds(i % 86400) AS event_timestamp, ${cols.join(', ')} FROM range(${n}) t(i)) TO '${join(dir, 'data/stats.parquet')}' (FORMAT parquet)`)
  const { FeatureStore } = await morsel()
  const store = await FeatureStore.open(dir)
  await store.apply()
  const t0 = performance.now()
  const r = await store.materialize({ start: new Date('2024-01-01T00:00:00Z'), end: new Date('2024-01-02T00:00:00Z') })
  const s = (performance.now() - t0) / 1000
  const written = r.views[0]!.written
  console.log(`| ${n} | ${written} | ${s.toFixed(2)} s | ${Math.round(n / s)} | ${peakRssMb()} MB |`)
  await store.teardown()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}

/** Each size in its own process, so that peak RSS belongs to that size alone. */
function child(mode: string, n: number): void {
  // JITI_TRY_NATIVE: the build is imported natively, not through jiti's transform.
  process.stdout.write(
    execFileSync(process.execPath, [join(import.meta.dirname, '../node_modules/jiti/lib/jiti-cli.mjs'), import.meta.filename, mode, String(n)], { encoding: 'utf8', env: { ...process.env, JITI_TRY_NATIVE: '1' } }),
  )
}

if (rowsArg !== undefined) {
  if (which === 'pit') await pit(rowsArg)
  else await materialize(rowsArg)
} else {
  if (which === 'pit' || which === 'all') {
    console.log('\n## point-in-time join to Parquet, 2 views × 1M rows, 15 features')
    console.log('| entity rows | Morsel | rows/s | hand-written DuckDB | ratio | peak RSS |')
    console.log('|---|---|---|---|---|---|')
    child('pit', 1_000_000)
  }
  if (which === 'materialize' || which === 'all') {
    console.log('\n## materialize into Redis, 15 features')
    console.log('| entities | written | time | rows/s | peak RSS |')
    console.log('|---|---|---|---|---|')
    for (const n of [100_000, 1_000_000]) child('materialize', n)
  }
}
