import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { formatMicros } from '../../src/internal/time.js'

/** A column of a test table: its name and DuckDB type (`BIGINT`, `TIMESTAMPTZ`, `VARCHAR[]` …). */
export interface TestColumn {
  readonly name: string
  readonly type: string
}

/** A timestamp for test data, in epoch microseconds, so that sub-millisecond times can be written. */
export class Micros {
  constructor(readonly value: number) {}
}

let shared: Promise<{ db: DuckDBInstance; conn: DuckDBConnection }> | undefined

/** One DuckDB for a test file, used only to write and read fixture files. */
async function connection(): Promise<DuckDBConnection> {
  shared ??= DuckDBInstance.create(':memory:').then(async (db) => {
    const conn = await db.connect()
    await conn.run("SET TimeZone = 'UTC'")
    return { db, conn }
  })
  return (await shared).conn
}

function sqlValue(v: unknown, type: string): string {
  if (v === null || v === undefined) return `CAST(NULL AS ${type})`
  if (v instanceof Micros) return `CAST(TIMESTAMPTZ '${formatMicros(v.value)}' AS ${type})`
  if (v instanceof Date) return `CAST(TIMESTAMPTZ '${v.toISOString()}' AS ${type})`
  if (typeof v === 'string') return `CAST('${v.replace(/'/g, "''")}' AS ${type})`
  if (Array.isArray(v)) return `CAST([${v.map((x) => sqlValue(x, type.replace(/\[\]$/, ''))).join(', ')}] AS ${type})`
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `CAST(${v} AS ${type})`
  throw new Error(`No SQL literal for ${typeof v}`)
}

/** Writes rows to a Parquet or CSV file (by extension) through DuckDB, with exact column types, in order. */
export async function writeTable(path: string, columns: readonly TestColumn[], rows: ReadonlyArray<readonly unknown[]>): Promise<void> {
  const conn = await connection()
  const format = path.endsWith('.csv') ? 'csv, HEADER true' : 'parquet'
  await conn.run(`CREATE OR REPLACE TEMP TABLE __fixture (${columns.map((c) => `"${c.name}" ${c.type}`).join(', ')})`)
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map((r) => `(${columns.map((c, j) => sqlValue(r[j], c.type)).join(', ')})`)
    await conn.run(`INSERT INTO __fixture VALUES ${values.join(', ')}`)
  }
  await conn.run(`COPY (SELECT * FROM __fixture) TO '${path.replace(/'/g, "''")}' (FORMAT ${format})`)
}

/** Runs a statement on the fixture connection (generating large files with SQL). */
export async function runSql(sql: string): Promise<void> {
  await (await connection()).run(sql)
}

/** Rows of a query, as JSON-friendly objects (BIGINT as strings, timestamps as text). */
export async function queryRows(sql: string): Promise<Array<Record<string, unknown>>> {
  const r = await (await connection()).runAndReadAll(sql)
  return r.getRowObjectsJson()
}
