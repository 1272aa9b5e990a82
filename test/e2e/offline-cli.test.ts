import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { Micros, queryRows, runSql, writeTable } from '../support/duckdb-files.js'
import { csv, makeRepo, uniqueProject } from '../support/temp-repo.js'

/* The offline commands as a user runs them: the built CLI on a temporary repository. */

const BIN = resolve('bin/morsel.js')

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function morsel(args: readonly string[], cwd: string): Promise<Run> {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests.')
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

const DEFINITIONS = `
import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, RequestSource, types } from 'morsel'

export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })

export const stats = new FeatureView({
  name: 'stats', entities: [driver], ttl: { days: 2 },
  source: new FileSource({ name: 'stats_src', path: 'data/stats.parquet', timestampField: 'event_timestamp', createdTimestampColumn: 'created' }),
  schema: { conv: types.Float64, trips: types.Int64 },
})

export const bonus = new RequestSource({ name: 'bonus', schema: { extra: types.Int64 } })
export const boosted = new OnDemandFeatureView({
  name: 'boosted', sources: [stats, bonus], schema: { trips_plus: types.Int64 },
  udf: (r) => ({ trips_plus: r.trips === null ? null : r.trips + r.extra }),
})

export const model = new FeatureService({ name: 'model', features: [stats.select(['trips']), boosted] })
`

const DAY = 86_400 * 1_000_000
const T0 = Date.UTC(2024, 0, 1) * 1000

async function repo(): Promise<string> {
  const dir = makeRepo({
    'feature_store.yaml': `project: ${uniqueProject('cli_off')}\nregistry: data/registry.json\nonline_store:\n  type: sqlite\n  path: data/online.db\n`,
    'features.ts': DEFINITIONS,
    'entities.csv': csv(['driver_id', 'event_timestamp', 'extra'], [
      [2, '2024-01-02T12:00:00Z', 5],
      [1, '2024-01-02T12:00:00Z', 1],
      [1, '2024-01-01T06:00:00Z', 2],
      [3, '2024-01-02T12:00:00Z', 0],
    ]),
  })
  mkdirSync(join(dir, 'data'), { recursive: true })
  await writeTable(
    join(dir, 'data/stats.parquet'),
    [
      { name: 'driver_id', type: 'BIGINT' },
      { name: 'event_timestamp', type: 'TIMESTAMPTZ' },
      { name: 'created', type: 'TIMESTAMPTZ' },
      { name: 'conv', type: 'DOUBLE' },
      { name: 'trips', type: 'BIGINT' },
    ],
    [
      [1, new Micros(T0), new Micros(T0), 0.1, 10],
      [1, new Micros(T0 + DAY), new Micros(T0 + DAY), 0.2, 20],
      [2, new Micros(T0 + DAY), new Micros(T0 + DAY), 0.5, 50],
    ],
  )
  expect((await morsel(['-c', dir, 'apply'], dir)).code).toBe(0)
  return dir
}

describe('morsel get-historical-features, materialize, materialize-incremental', () => {
  it('writes a training set to Parquet and CSV, from features or a feature service', async () => {
    const dir = await repo()
    const out = await morsel(['-c', dir, 'get-historical-features', '--entities', 'entities.csv', '--features', 'stats:conv,stats:trips', '--output', 'out/train.parquet'], dir)
    expect(out.code, out.stderr).toBe(0)
    expect(out.stdout).toMatch(/^Wrote 4 rows to .*out\/train\.parquet/)
    const rows = await queryRows(`SELECT driver_id, extra, conv, trips FROM '${join(dir, 'out/train.parquet')}'`)
    expect(rows).toEqual([
      { driver_id: '2', extra: '5', conv: 0.5, trips: '50' },
      { driver_id: '1', extra: '1', conv: 0.2, trips: '20' },
      { driver_id: '1', extra: '2', conv: 0.1, trips: '10' },
      { driver_id: '3', extra: '0', conv: null, trips: null },
    ])

    const svc = await morsel(['-c', dir, 'get-historical-features', '--entities', 'entities.csv', '--feature-service', 'model', '--full-feature-names', '-o', 'train.csv'], dir)
    expect(svc.code, svc.stderr).toBe(0)
    const lines = readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n')
    expect(lines[0]).toBe('driver_id,event_timestamp,extra,stats__trips,boosted__trips_plus')
    expect(lines.slice(1).map((l) => l.split(',').slice(3).join(','))).toEqual(['50,55', '20,21', '10,12', ','])
  })

  it('fails with a usage error on bad arguments and a clear one on a bad entity file', async () => {
    const dir = await repo()
    const both = await morsel(['-c', dir, 'get-historical-features', '--entities', 'entities.csv', '--features', 'stats:conv', '--feature-service', 'model', '-o', 'x.parquet'], dir)
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('either --features')
    const badOut = await morsel(['-c', dir, 'get-historical-features', '--entities', 'entities.csv', '--features', 'stats:conv', '-o', 'x.json'], dir)
    expect(badOut.code).toBe(2)
    writeFileSync(join(dir, 'keyless.csv'), csv(['event_timestamp'], [['2024-01-02T00:00:00Z']]))
    const keyless = await morsel(['-c', dir, 'get-historical-features', '--entities', 'keyless.csv', '--features', 'stats:conv', '-o', 'x.parquet'], dir)
    expect(keyless.code).toBe(2)
    expect(keyless.stderr).toContain("MORSEL_ENTITY_KEY_INVALID]: The entity rows have no column 'driver_id'")
    expect(existsSync(join(dir, 'x.parquet'))).toBe(false)
  })

  it('materializes a window, then incrementally, logging progress as plain lines when not on a terminal', async () => {
    const dir = await repo()
    const run = await morsel(['-c', dir, 'materialize', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'], dir)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain('materialize stats: 2 rows to write (2024-01-01T00:00:00.000Z .. 2024-01-02T00:00:00.000Z)')
    expect(run.stderr).toMatch(/materialize stats: done, 2 written, 0 skipped/)
    expect(run.stdout).toContain('stats: materialized 2024-01-01T00:00:00.000Z to 2024-01-02T00:00:00.000Z: 2 rows, 2 written, 0 skipped')

    const online = new Database(join(dir, 'data/online.db'), { readonly: true })
    const times = online.prepare('SELECT event_time_us FROM morsel_online_event_times ORDER BY event_time_us').all() as Array<{ event_time_us: number }>
    online.close()
    expect(times.map((t) => t.event_time_us)).toEqual([T0 + DAY, T0 + DAY])

    const inc = await morsel(['-c', dir, 'materialize-incremental', '2024-01-05T00:00:00Z', '--views', 'stats'], dir)
    expect(inc.code, inc.stderr).toBe(0)
    expect(inc.stdout).toContain('stats: materialized 2024-01-02T00:00:00.000Z to 2024-01-05T00:00:00.000Z: 2 rows, 0 written, 2 skipped')

    const bad = await morsel(['-c', dir, 'materialize', 'yesterday', 'now'], dir)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('START "yesterday" is not a time')
  })

  it('exits with MORSEL_BUSY while another materialization of the project runs', async () => {
    const dir = await repo()
    // This test process is alive: its lock is not abandoned.
    writeFileSync(join(dir, `data/registry.json.${readFileSync(join(dir, 'feature_store.yaml'), 'utf8').match(/project: (\w+)/)![1]}.stats.materialize.lock`), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), at: new Date().toISOString(), what: 'materialize (test)' }))
    const busy = await morsel(['-c', dir, 'materialize', '2024-01-01T00:00:00Z', 'now'], dir)
    expect(busy.code).toBe(4)
    expect(busy.stderr).toContain('Error [MORSEL_BUSY]')
  })

  it('ends identical to an uninterrupted run when killed with SIGKILL and run again, recording nothing for unfinished work', async () => {
    const rows = 60_000
    const make = async (): Promise<string> => {
      const dir = makeRepo({
        'feature_store.yaml': `project: ${uniqueProject('kill')}\nregistry: data/registry.json\nonline_store:\n  type: sqlite\n  path: data/online.db\nmaterialization:\n  online_write_batch_size: 500\n`,
        'features.ts': DEFINITIONS,
      })
      mkdirSync(join(dir, 'data'), { recursive: true })
      await runSql(
        `COPY (SELECT (i % ${rows / 2})::BIGINT AS driver_id, TIMESTAMPTZ '2024-01-01' + to_seconds(i) AS event_timestamp, TIMESTAMPTZ '2024-01-01' AS created, i / 7.0 AS conv, i::BIGINT AS trips FROM range(${rows}) t(i)) TO '${join(dir, 'data/stats.parquet')}' (FORMAT parquet)`,
      )
      expect((await morsel(['-c', dir, 'apply'], dir)).code).toBe(0)
      return dir
    }
    const dump = (dir: string): string => {
      const db = new Database(join(dir, 'data/online.db'), { readonly: true })
      const values = db.prepare('SELECT hex(entity_key) AS k, feature, hex(value) AS v FROM morsel_online_values ORDER BY 1, 2').all()
      const times = db.prepare('SELECT hex(entity_key) AS k, event_time_us FROM morsel_online_event_times ORDER BY 1').all()
      db.close()
      return JSON.stringify({ values, times })
    }
    const window = ['2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z']

    const reference = await make()
    expect((await morsel(['-c', reference, 'materialize', ...window], reference)).code).toBe(0)

    const dir = await make()
    const registry = join(dir, 'data/registry.json')
    const stored = (): number => {
      const db = new Database(join(dir, 'data/online.db'), { readonly: true })
      const n = (db.prepare('SELECT count(*) AS n FROM morsel_online_event_times').get() as { n: number }).n
      db.close()
      return n
    }
    let partial = 0
    for (const delayMs of [0, 250, 700]) {
      const child = spawn(process.execPath, [BIN, '-c', dir, 'materialize', ...window], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
      const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
      // Killed once writing has begun (the first progress line), at a different point each time.
      child.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('rows to write')) setTimeout(() => child.kill('SIGKILL'), delayMs)
      })
      await exited
      const n = stored()
      if (n > 0 && n < rows / 2) partial++
      // A window is recorded only once all of its rows are online.
      const doc = JSON.parse(readFileSync(registry, 'utf8')) as { projects: Record<string, { materializations: Record<string, { intervals: unknown[] }> }> }
      if ((Object.values(doc.projects)[0]!.materializations.stats?.intervals ?? []).length > 0) expect(dump(dir)).toBe(dump(reference))
    }
    expect(partial, 'at least one run was killed halfway through its writes').toBeGreaterThan(0)
    const rerun = await morsel(['-c', dir, 'materialize', ...window], dir)
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(dump(dir)).toBe(dump(reference))
  }, 240_000)
})
