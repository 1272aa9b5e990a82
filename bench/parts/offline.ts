import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import { FeatureStore } from '../../src/index.js'
import { WRITE_ROWS_LUA } from '../../src/online/redis/write-script.js'
import { startPlainRedis } from '../../test/support/redis-servers.js'
import type { BenchContext } from '../support/context.js'
import { formatFrames, readProfile, topFrames } from '../support/cpu-profile.js'
import { duckdb } from '../support/dataset.js'
import type { ChildResult } from '../support/offline-child.js'

const CHILD = fileURLToPath(new URL('../support/offline-child.js', import.meta.url))

async function child(job: string, args: Record<string, unknown>, nodeOptions: readonly string[] = []): Promise<ChildResult> {
  const p = spawn(process.execPath, [...nodeOptions, CHILD, job, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  p.stdout.on('data', (c: Buffer) => (out += c.toString()))
  const code = await new Promise<number | null>((r) => p.once('exit', r))
  if (code !== 0) throw new Error(`${job} exited with ${code}`)
  return JSON.parse(out) as ChildResult
}

function makeRepo(features: string, online: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'morsel-bench-offline-'))
  mkdirSync(join(dir, 'data'))
  writeFileSync(join(dir, 'feature_store.yaml'), `project: bench_off_${process.pid}\nregistry: data/registry.json\nprovider: local\n${online}offline_store: duckdb\n`)
  writeFileSync(join(dir, 'features.ts'), features)
  return dir
}

async function apply(dir: string): Promise<void> {
  const store = await FeatureStore.open(dir)
  try {
    await store.apply()
  } finally {
    await store.close()
  }
}

/** A repository with one view of `n` entities × the features, in Parquet, applied. */
export async function materializeRepo(n: number, features: readonly string[], redisAddress: string): Promise<string> {
  const dir = makeRepo(
    `import { Entity, FeatureView, FileSource, types } from 'morsel'
export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })
export const stats = new FeatureView({ name: 'stats', entities: [driver], ttl: 0,
  source: new FileSource({ name: 'stats_src', path: 'data/stats.parquet', timestampField: 'event_timestamp' }),
  schema: { ${features.map((f, i) => `${f}: ${i % 3 === 0 ? 'types.Int64' : i % 3 === 1 ? 'types.Float64' : 'types.String'}`).join(', ')} } })
`,
    `online_store:\n  type: redis\n  connection_string: "${redisAddress}"\n`,
  )
  const cols = features.map((f, i) => (i % 3 === 0 ? `(i * ${i + 1})::BIGINT AS ${f}` : i % 3 === 1 ? `i / ${i + 1}.0 AS ${f}` : `'v' || (i % ${100 + i}) AS ${f}`))
  await duckdb(`COPY (SELECT i::BIGINT AS driver_id, TIMESTAMPTZ '2024-01-01' + to_seconds(i % 86400) AS event_timestamp, ${cols.join(', ')} FROM range(${n}) t(i)) TO '${join(dir, 'data/stats.parquet')}' (FORMAT parquet)`)
  await apply(dir)
  return dir
}

const WINDOW = { start: '2024-01-01T00:00:00Z', end: '2024-01-02T00:00:00Z' }
const FEATURES = Array.from({ length: 15 }, (_, i) => `f${i}`)

/**
 * `npm run bench -- profile materialize [rows]`: Morsel's materialization of `rows` (default 100k)
 * in a child process under `--cpu-prof`; prints the functions with the most self time.
 */
export async function profileMaterialize(ctx: BenchContext, n: number, resultsDir: string, root: string): Promise<string> {
  const redis = await startPlainRedis()
  const dir = await materializeRepo(n, FEATURES, redis.address)
  try {
    const name = `profile-materialize-${n}.cpuprofile`
    const r = await child('materialize', { repo: dir, window: WINDOW }, ['--cpu-prof', '--cpu-prof-dir', resultsDir, '--cpu-prof-name', name, '--cpu-prof-interval', '200'])
    ctx.log(`profiled materialization of ${n} rows: ${(n / r.seconds).toFixed(0)} rows/s under the profiler, peak RSS ${r.peakRssMb} MB`)
    const file = join(resultsDir, name)
    return `### Profile: materialization of ${n} rows × ${FEATURES.length} features\n\nSaved to ${file}\n\n${formatFrames(topFrames(readProfile(file), root))}\n`
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await redis.remove()
  }
}

export interface MaterializeSize {
  readonly rows: number
  readonly morsel: ChildResult & { rowsPerSecond: number }
  readonly pipe: { seconds: number; rowsPerSecond: number; fileMb: number }
}

export interface MaterializeResult {
  readonly features: number
  readonly sizes: readonly MaterializeSize[]
}

/**
 * Materialization of one view (15 features: Int64, Float64 and String) from Parquet into a Redis
 * of its own, emptied before every load, each size in a fresh process. Baseline: the same EVALSHA
 * commands, written to a RESP file beforehand, loaded by `redis-cli --pipe`: the server's work
 * with no client in the way (no Parquet reading either: that is Morsel's to do).
 */
export async function runMaterialize(ctx: BenchContext): Promise<MaterializeResult> {
  const sizes = ctx.effort.quick ? [10_000, 50_000] : [100_000, 1_000_000]
  const features = FEATURES
  const redis = await startPlainRedis()
  const client = createClient({ url: `redis://${redis.address}` })
  await client.connect()
  const out: MaterializeSize[] = []
  try {
    for (const n of sizes) {
      const dir = await materializeRepo(n, features, redis.address)
      try {
        const window = WINDOW
        const file = join(dir, 'load.resp')
        const project = `bench_off_${process.pid}`
        await child('resp', { repo: dir, window, project, file })

        await client.flushAll()
        await client.scriptLoad(WRITE_ROWS_LUA)
        const fd = openSync(file, 'r')
        const t0 = performance.now()
        const pipe = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), '--pipe'], { stdio: [fd, 'pipe', 'inherit'] })
        let said = ''
        pipe.stdout!.on('data', (c: Buffer) => (said += c.toString()))
        const code = await new Promise<number | null>((r) => pipe.once('exit', r))
        const pipeSeconds = (performance.now() - t0) / 1000
        closeSync(fd)
        if (code !== 0 || !/errors: 0,/.test(said)) throw new Error(`redis-cli --pipe failed: ${said}`)
        const loaded = await client.dbSize()
        if (loaded !== n) throw new Error(`redis-cli --pipe loaded ${loaded} keys of ${n}`)

        await client.flushAll()
        const morsel = await child('materialize', { repo: dir, window })
        if (morsel.rows !== n) throw new Error(`Morsel wrote ${morsel.rows} rows of ${n}`)
        const size: MaterializeSize = {
          rows: n,
          morsel: { ...morsel, rowsPerSecond: n / morsel.seconds },
          pipe: { seconds: pipeSeconds, rowsPerSecond: n / pipeSeconds, fileMb: Math.round(statSync(file).size / 1e6) },
        }
        ctx.log(`materialize ${n}: Morsel ${Math.round(size.morsel.rowsPerSecond)} rows/s, peak RSS ${morsel.peakRssMb} MB; redis-cli --pipe ${Math.round(size.pipe.rowsPerSecond)} rows/s`)
        out.push(size)
        await client.flushAll()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } finally {
    await client.close()
    await redis.remove()
  }
  return { features: features.length, sizes: out }
}

export interface PitResult {
  readonly entityRows: number
  readonly viewRows: number
  readonly features: number
  readonly morsel: ChildResult
  readonly sql: ChildResult
}

/**
 * The point-in-time join of `entityRows` entity rows against two views of 1M rows each (7 and 8
 * features, one keyed by an Int64, one by a String, each with a created timestamp and a ttl),
 * written to Parquet by `getHistoricalFeatures(...).toFile`, against the join an engineer would
 * write by hand in DuckDB (two ASOF LEFT JOINs, no ttl, no tie-break on created, no row order).
 * Best of the runs, each in a fresh process.
 */
export async function runPit(ctx: BenchContext): Promise<PitResult> {
  const n = ctx.effort.quick ? 50_000 : 1_000_000
  const viewRows = ctx.effort.quick ? 100_000 : 1_000_000
  const dir = makeRepo(
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
  try {
    const d = join(dir, 'data')
    const zips = viewRows / 5
    const ssns = viewRows / 10
    await duckdb(
      `COPY (SELECT (i % ${zips})::BIGINT AS zipcode, TIMESTAMPTZ '2020-01-01' + to_seconds((i // ${zips}) * 86400*30 + (hash(i) % 86400)::BIGINT) AS event_timestamp, TIMESTAMPTZ '2020-01-01' + to_seconds(i) AS created, i % 1000 AS f1, (i * 7) % 1000 AS f2, random() AS f3, random() AS f4, 'city_' || (i % 500) AS f5, (i%3)::INT AS f6, (i % 17)::BIGINT AS f7 FROM range(${viewRows}) t(i)) TO '${d}/a.parquet' (FORMAT parquet)`,
      `COPY (SELECT 'ssn_' || (i % ${ssns}) AS dob_ssn, TIMESTAMPTZ '2020-01-01' + to_seconds((i // ${ssns}) * 86400*15 + (hash(i) % 86400)::BIGINT) AS event_timestamp, TIMESTAMPTZ '2020-01-01' + to_seconds(i) AS created, i % 1000 AS g1, i % 100 AS g2, i % 10 AS g3, random() AS g4, random() AS g5, random() AS g6, (i%2)::INT AS g7, (i%9)::INT AS g8 FROM range(${viewRows}) t(i)) TO '${d}/b.parquet' (FORMAT parquet)`,
      `COPY (SELECT (hash(i) % ${zips})::BIGINT AS zipcode, 'ssn_' || (hash(i*3) % ${ssns}) AS dob_ssn, TIMESTAMPTZ '2020-01-01' + to_seconds((hash(i*5) % (86400*200))::BIGINT) AS event_timestamp, i % 2 AS label FROM range(${n}) t(i)) TO '${d}/entities.parquet' (FORMAT parquet)`,
    )
    await apply(dir)
    const features = ['a:f1', 'a:f2', 'a:f3', 'a:f4', 'a:f5', 'a:f6', 'a:f7', 'b:g1', 'b:g2', 'b:g3', 'b:g4', 'b:g5', 'b:g6', 'b:g7', 'b:g8']
    const sql = `COPY (SELECT e.*, a.f1, a.f2, a.f3, a.f4, a.f5, a.f6, a.f7, b.g1, b.g2, b.g3, b.g4, b.g5, b.g6, b.g7, b.g8
FROM read_parquet('${d}/entities.parquet') e
ASOF LEFT JOIN read_parquet('${d}/a.parquet') a ON e.zipcode = a.zipcode AND e.event_timestamp >= a.event_timestamp
ASOF LEFT JOIN read_parquet('${d}/b.parquet') b ON e.dob_ssn = b.dob_ssn AND e.event_timestamp >= b.event_timestamp) TO '${d}/hand.parquet' (FORMAT parquet)`
    let morsel: ChildResult | undefined
    let hand: ChildResult | undefined
    for (let rep = 0; rep < Math.min(2, ctx.effort.reps); rep++) {
      const m = await child('pit', { repo: dir, entities: join(d, 'entities.parquet'), features, out: join(d, 'out.parquet') })
      if (m.rows !== n) throw new Error(`the training set has ${m.rows} rows, not ${n}`)
      const h = await child('pit-sql', { sql })
      if (h.rows !== n) throw new Error(`the hand-written join wrote ${h.rows} rows, not ${n}`)
      ctx.log(`pit ${n} rows: Morsel ${m.seconds.toFixed(2)} s (peak RSS ${m.peakRssMb} MB), DuckDB SQL ${h.seconds.toFixed(2)} s`)
      if (morsel === undefined || m.seconds < morsel.seconds) morsel = m
      if (hand === undefined || h.seconds < hand.seconds) hand = h
    }
    return { entityRows: n, viewRows, features: features.length, morsel: morsel!, sql: hand! }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
