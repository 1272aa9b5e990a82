import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DuckDBConnection } from '@duckdb/node-api'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { FileSourceSpec } from '../../src/definitions/specs.js'
import { isMorselError } from '../../src/index.js'
import { createDuckdbOfflineStore } from '../../src/offline/duckdb/duckdb-offline-store.js'
import type { PullLatestRequest } from '../../src/offline/offline-store.js'
import { ValueType } from '../../src/types/value-type.js'
import { Micros, queryRows, runSql, writeTable } from '../support/duckdb-files.js'

const dir = mkdtempSync(join(tmpdir(), 'morsel-duckdb-'))
const store = await createDuckdbOfflineStore({ type: 'duckdb' }, { repoPath: dir })
afterAll(async () => store.close())

const T0 = Date.UTC(2024, 0, 1) * 1000
const source = (path: string, extra: Partial<FileSourceSpec> = {}): FileSourceSpec => ({
  kind: 'file',
  name: 'src',
  path,
  format: path.endsWith('.csv') ? 'csv' : 'parquet',
  timestampField: 'ts',
  createdTimestampColumn: '',
  fieldMapping: {},
  description: '',
  tags: {},
  owner: '',
  ...extra,
})

async function pullAll(request: PullLatestRequest, partitionEntities?: number): Promise<Array<Record<string, unknown>>> {
  const latest = await store.pullLatest(request, { batchRows: 13, ...(partitionEntities !== undefined && { partitionEntities }) })
  const rows: Array<Record<string, unknown>> = []
  for await (const b of latest.batches()) {
    expect(b.rowCount).toBeLessThanOrEqual(13)
    for (let r = 0; r < b.rowCount; r++) rows.push({ ...Object.fromEntries(b.names.map((n) => [n, b.columns.get(n)![r]])), at: b.eventTimeMicros[r] })
  }
  expect(rows).toHaveLength(latest.rowCount)
  return rows.sort((a, b) => (a.id as number) - (b.id as number))
}

describe('DuckdbOfflineStore.pullLatest', () => {
  it('gives the same rows whether the entities are deduplicated at once or in hash partitions', async () => {
    await runSql(`COPY (SELECT (i % 100)::BIGINT AS id, TIMESTAMPTZ '2024-01-01' + to_seconds(i % 17) AS ts, i AS v FROM range(1000) t(i)) TO '${join(dir, 'many.parquet')}' (FORMAT parquet)`)
    const request: PullLatestRequest = {
      view: 'v',
      source: source('many.parquet'),
      joinKeys: [{ column: 'id', name: 'id', valueType: ValueType.INT64 }],
      timestampField: 'ts',
      createdTimestampColumn: '',
      features: [{ column: 'v', name: 'v', valueType: ValueType.INT64 }],
      startMicros: T0,
      endMicros: T0 + 10_000_000,
    }
    const whole = await pullAll(request)
    expect(whole).toHaveLength(100)
    expect(await pullAll(request, 7)).toEqual(whole)
    // Entity 5 has rows at seconds 5 and (5 + 100k) % 17; the window ends at second 10.
    expect(whole[5]!.at).toBeLessThanOrEqual(T0 + 10_000_000)
  })
})

describe('DuckdbOfflineStore.appendRows', () => {
  const cols = [
    { name: 'driver', type: 'BIGINT' },
    { name: 'ts', type: 'TIMESTAMPTZ' },
    { name: 'created', type: 'TIMESTAMPTZ' },
    { name: 'rate', type: 'DOUBLE' },
    { name: 'label', type: 'VARCHAR' },
  ]
  const spec = (path: string): FileSourceSpec => source(path, { createdTimestampColumn: 'created', fieldMapping: { driver: 'driver_id' } })

  it('rewrites a Parquet file with the rows added, taking view names through the field mapping and stamping the created time', async () => {
    const path = join(dir, 'push.parquet')
    await writeTable(path, cols, [[1, new Micros(T0), new Micros(T0), 0.5, 'old']])
    const n = await store.appendRows(spec(path), {
      names: ['driver_id', 'ts', 'rate', 'label'],
      columns: new Map<string, unknown[]>([['driver_id', [2, 3]], ['ts', ['2024-01-02T00:00:00.000001Z', new Date(T0 / 1000)]], ['rate', [1, null]], ['label', ['a', 'b']]]),
      rowCount: 2,
    })
    expect(n).toBe(2)
    const rows = await queryRows(`SELECT driver, epoch_us(ts) AS us, created IS NOT NULL AS has_created, rate, label FROM '${path}' ORDER BY driver`)
    expect(rows).toEqual([
      { driver: '1', us: String(T0), has_created: true, rate: 0.5, label: 'old' },
      { driver: '2', us: String(T0 + 86_400_000_001), has_created: true, rate: 1, label: 'a' },
      { driver: '3', us: String(T0), has_created: true, rate: null, label: 'b' },
    ])
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('appends whole lines to a CSV file, in the file column order, readable as before', async () => {
    const path = join(dir, 'push.csv')
    writeFileSync(path, 'driver,ts,created,rate,label\n1,2024-01-01 00:00:00,2024-01-01 00:00:00,0.5,old')
    await store.appendRows(spec(path), {
      names: ['label', 'rate', 'ts', 'driver', 'created'],
      columns: new Map<string, unknown[]>([['label', ['x, "quoted"']], ['rate', [2.25]], ['ts', ['2024-01-03T00:00:00Z']], ['driver', [9]], ['created', [T0 / 1_000_000]]]),
      rowCount: 1,
    })
    const rows = await queryRows(`SELECT driver, epoch_us(ts::TIMESTAMPTZ) AS us, rate, label FROM read_csv('${path}', header = true) ORDER BY driver`)
    expect(rows).toEqual([
      { driver: '1', us: String(T0), rate: 0.5, label: 'old' },
      { driver: '9', us: String(T0 + 2 * 86_400_000_000), rate: 2.25, label: 'x, "quoted"' },
    ])
  })

  it('checks every value against the file types first and leaves the file untouched when one is wrong', async () => {
    const path = join(dir, 'strict.parquet')
    await writeTable(path, cols, [[1, new Micros(T0), new Micros(T0), 0.5, 'old']])
    const before = readFileSync(path)
    const rows = (rate: unknown[]) => ({ names: ['driver', 'ts', 'rate', 'label'], columns: new Map<string, unknown[]>([['driver', [2, 3]], ['ts', [T0 / 1_000_000, T0 / 1_000_000]], ['rate', rate], ['label', ['a', 'b']]]), rowCount: 2 })
    const bad = await store.appendRows(spec(path), rows([1, 'fast'])).catch((e: unknown) => e)
    expect(isMorselError(bad, 'MORSEL_VALUE_INVALID') && bad.message).toContain("row 1: 'rate' is the string \"fast\", but the column is DOUBLE")
    const missing = await store.appendRows(spec(path), { names: ['driver', 'ts'], columns: new Map<string, unknown[]>([['driver', [1]], ['ts', [0]]]), rowCount: 1 }).catch((e: unknown) => e)
    expect(isMorselError(missing, 'MORSEL_REQUEST_INVALID') && missing.message).toContain('lack the columns rate, label')
    const unknown = await store.appendRows(spec(path), { names: ['driver', 'ts', 'rate', 'label', 'speed'], columns: new Map<string, unknown[]>([['driver', [1]], ['ts', [0]], ['rate', [1]], ['label', ['a']], ['speed', [3]]]), rowCount: 1 }).catch((e: unknown) => e)
    expect(isMorselError(unknown, 'MORSEL_REQUEST_INVALID') && unknown.message).toContain("column 'speed' is not a column")
    expect(readFileSync(path)).toEqual(before)
  })

  it('serialises concurrent appends to one file, losing none', async () => {
    const path = join(dir, 'busy.parquet')
    await writeTable(path, cols, [])
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.appendRows(spec(path), { names: ['driver', 'ts', 'rate', 'label'], columns: new Map<string, unknown[]>([['driver', [i]], ['ts', [T0 / 1_000_000]], ['rate', [i]], ['label', [`r${i}`]]]), rowCount: 1 }),
      ),
    )
    expect((await queryRows(`SELECT count(*) AS n FROM '${path}'`))[0]!.n).toBe('8')
  })

  it('serialises appends from two processes to one Parquet file, losing and doubling no row', async () => {
    const path = join(dir, 'two-processes.parquet')
    await writeTable(path, cols, [])
    const script = join(dir, 'append-child.ts')
    writeFileSync(
      script,
      `import { createDuckdbOfflineStore } from ${JSON.stringify(resolve('src/offline/duckdb/duckdb-offline-store.ts'))}
const [path, first, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
const store = await createDuckdbOfflineStore({ type: 'duckdb' }, { repoPath: ${JSON.stringify(dir)} })
const spec = { kind: 'file', name: 'src', path, format: 'parquet', timestampField: 'ts', createdTimestampColumn: 'created', fieldMapping: {}, description: '', tags: {}, owner: '' }
for (let i = first; i < first + count; i++) {
  await store.appendRows(spec, { names: ['driver', 'ts', 'rate', 'label'], columns: new Map([['driver', [i]], ['ts', [${T0 / 1_000_000}]], ['rate', [i]], ['label', ['p' + process.pid]]]), rowCount: 1 })
}
await store.close()
`,
    )
    const child = (first: number): Promise<{ code: number | null; stderr: string }> =>
      new Promise((done) => {
        const p = spawn(process.execPath, [resolve('node_modules/jiti/lib/jiti-cli.mjs'), script, path, String(first), '15'], { stdio: ['ignore', 'ignore', 'pipe'] })
        let stderr = ''
        p.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
        p.on('exit', (code) => done({ code, stderr }))
      })
    const results = await Promise.all([child(0), child(100)])
    expect(results).toEqual([{ code: 0, stderr: '' }, { code: 0, stderr: '' }])
    const rows = await queryRows(`SELECT driver, count(*) AS n FROM '${path}' GROUP BY driver ORDER BY driver`)
    const expected = [...Array.from({ length: 15 }, (_, i) => i), ...Array.from({ length: 15 }, (_, i) => 100 + i)]
    expect(rows).toEqual(expected.map((d) => ({ driver: String(d), n: '1' })))
    expect(readdirSync(dir).filter((f) => f.includes('two-processes') && f !== 'two-processes.parquet')).toEqual([])
  })

  it('appends nothing when a push is retried after its first attempt landed', async () => {
    for (const path of [join(dir, 'retry.parquet'), join(dir, 'retry.csv')]) {
      if (path.endsWith('.csv')) writeFileSync(path, 'driver,ts,created,rate,label\n1,2024-01-01 00:00:00,2024-01-01 00:00:00,0.5,old\n')
      else await writeTable(path, cols, [[1, new Micros(T0), new Micros(T0), 0.5, 'old']])
      const push = {
        names: ['driver', 'ts', 'rate', 'label'],
        columns: new Map<string, unknown[]>([['driver', [2, 2, 3]], ['ts', [T0 / 1_000_000, T0 / 1_000_000, '2024-01-01T00:00:00.000001Z']], ['rate', [null, null, 1.5]], ['label', ['a', 'a', null]]]),
        rowCount: 3,
      }
      // Rows repeated within one push are all kept; the retry adds none, though the created time Morsel stamps differs.
      expect(await store.appendRows(spec(path), push)).toBe(3)
      expect(await store.appendRows(spec(path), push)).toBe(0)
      // A row differing in one column (here only the event time, by a microsecond) is new.
      const later = { ...push, columns: new Map(push.columns).set('ts', ['2024-01-01T00:00:00.000001Z', T0 / 1_000_000, '2024-01-01T00:00:00.000001Z']) }
      expect(await store.appendRows(spec(path), later)).toBe(1)
      const relation = path.endsWith('.csv') ? `read_csv('${path}', header = true)` : `'${path}'`
      const rows = await queryRows(`SELECT driver, epoch_us(ts::TIMESTAMPTZ) - ${T0} AS us, rate, label FROM ${relation} ORDER BY driver, us`)
      expect(rows).toEqual([
        { driver: '1', us: '0', rate: 0.5, label: 'old' },
        { driver: '2', us: '0', rate: null, label: 'a' },
        { driver: '2', us: '0', rate: null, label: 'a' },
        { driver: '2', us: '1', rate: null, label: 'a' },
        { driver: '3', us: '1', rate: 1.5, label: null },
      ])
    }
  })
})

describe('DuckdbOfflineStore.connect', () => {
  it('closes the connection and raises a MorselError when setting up the session fails', async () => {
    // A NUL in the repository path ends the SQL string early: the session setup cannot run.
    const broken = await createDuckdbOfflineStore({ type: 'duckdb' }, { repoPath: join(dir, 'a\u0000b') })
    const closes = vi.spyOn(DuckDBConnection.prototype, 'closeSync')
    try {
      const err = await broken.connect().catch((e: unknown) => e)
      expect(isMorselError(err, 'MORSEL_STORE_ERROR')).toBe(true)
      expect((err as Error).message).toContain('DuckDB could not set up a session for the repository')
      expect(closes).toHaveBeenCalledTimes(1)
    } finally {
      closes.mockRestore()
      await broken.close()
    }
  })
})
