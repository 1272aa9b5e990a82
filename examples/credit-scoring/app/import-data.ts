import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { CREDIT_TABLES, sqlString, writeManifest, type CreditTable, type DataManifest } from './credit-tables.js'

/** File names looked for in the source folder, per table, in order of preference. */
const CANDIDATES: Readonly<Record<CreditTable, readonly string[]>> = {
  loans: ['loan_table.parquet', 'loan_table.csv'],
  zipcodes: ['zipcode_table.parquet', 'zipcode_table.csv'],
  // The tutorial publishes only the first rows of its credit history, as a CSV sample.
  creditHistory: ['credit_history.parquet', 'credit_history.csv', 'credit_history_sample.csv'],
}

/**
 * Copies the tutorial's own tables (Parquet or CSV) into the data folder with the example's exact
 * schemas: columns cast to their types, timestamps without a zone read as UTC. For running the
 * quickstart on the real files instead of generated ones.
 */
export async function importCreditData(fromDir: string, dataDir: string): Promise<DataManifest> {
  const from = resolve(fromDir)
  const sources = Object.fromEntries(
    (Object.keys(CANDIDATES) as CreditTable[]).map((table) => {
      const file = CANDIDATES[table].map((f) => join(from, f)).find((p) => existsSync(p))
      if (file === undefined) throw new Error(`${from} has no ${CANDIDATES[table].join(' or ')}; the quickstart needs the loan, ZIP code and credit-history tables.`)
      return [table, file]
    }),
  ) as Record<CreditTable, string>

  mkdirSync(dataDir, { recursive: true })
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await instance.connect()
  const rows: Partial<Record<CreditTable, number>> = {}
  try {
    await conn.run("SET TimeZone = 'UTC'")
    for (const table of Object.keys(sources) as CreditTable[]) {
      const source = sources[table]
      const relation = source.endsWith('.csv') ? `read_csv(${sqlString(source)}, header = true)` : `read_parquet(${sqlString(source)})`
      const select = CREDIT_TABLES[table].columns.map((c) => `CAST(${c.name} AS ${c.type}) AS ${c.name}`).join(', ')
      const target = join(dataDir, CREDIT_TABLES[table].file)
      const tmp = `${target}.tmp`
      rmSync(tmp, { force: true })
      try {
        await conn.run(`COPY (SELECT ${select} FROM ${relation}) TO ${sqlString(tmp)} (FORMAT parquet)`)
      } catch (err) {
        throw new Error(`Cannot import ${source} as the ${table} table: ${(err as Error).message}`, { cause: err })
      }
      renameSync(tmp, target)
      const count = await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(target)})`)
      rows[table] = Number(count.getRows()[0]?.[0])
    }
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
  const manifest: DataManifest = {
    origin: 'imported',
    importedFrom: from,
    rows: rows as Record<CreditTable, number>,
    writtenAt: new Date().toISOString(),
  }
  writeManifest(dataDir, manifest)
  return manifest
}
