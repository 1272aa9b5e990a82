import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
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
})
