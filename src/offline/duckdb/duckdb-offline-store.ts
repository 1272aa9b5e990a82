import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import type { BatchSourceSpec, FileSourceSpec } from '../../definitions/specs.js'
import { MorselError } from '../../errors/index.js'
import type { ColumnarRows } from '../../types/columnar.js'
import type { OfflineStore, OfflineStoreContext, SourceColumn } from '../offline-store.js'
import type { DuckdbOfflineStoreConfig } from './duckdb-offline-store-config.js'
import { duckdbTypeToValueType, isTimestampType } from './duckdb-types.js'

export async function createDuckdbOfflineStore(config: DuckdbOfflineStoreConfig, ctx: OfflineStoreContext): Promise<DuckdbOfflineStore> {
  return new DuckdbOfflineStore(config, ctx)
}

/** The offline store on an in-process DuckDB, reading Parquet and CSV sources in place. */
export class DuckdbOfflineStore implements OfflineStore {
  readonly kind = 'duckdb'
  readonly #config: DuckdbOfflineStoreConfig
  readonly #ctx: OfflineStoreContext
  #instance: Promise<DuckDBInstance> | undefined

  constructor(config: DuckdbOfflineStoreConfig, ctx: OfflineStoreContext) {
    this.#config = config
    this.#ctx = ctx
  }

  /** A new connection to the store's database; the caller closes it. */
  async connect(): Promise<DuckDBConnection> {
    this.#instance ??= DuckDBInstance.create(':memory:', this.#duckdbOptions())
    const conn = await (await this.#instance).connect()
    // Times are exchanged as UTC text; the session zone must not shift them.
    await conn.run("SET TimeZone = 'UTC'")
    return conn
  }

  async describeSource(source: BatchSourceSpec): Promise<readonly SourceColumn[]> {
    const file = source.kind === 'push' ? source.batchSource : source
    const relation = this.sourceRelation(file)
    const conn = await this.connect()
    try {
      const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)
      return reader.getRowObjectsJS().map((r) => {
        const sourceType = (r.column_type as string)
        return { name: (r.column_name as string), sourceType, valueType: duckdbTypeToValueType(sourceType), isTimestamp: isTimestampType(sourceType) }
      })
    } catch (err) {
      throw new MorselError(
        'MORSEL_SOURCE_INVALID',
        `Data source '${source.name}' cannot be read from ${this.resolvePath(file)}: ${(err as Error).message}`,
        { cause: err },
      )
    } finally {
      conn.closeSync()
    }
  }

  /** The absolute path of a file source. */
  resolvePath(source: FileSourceSpec): string {
    return isAbsolute(source.path) ? source.path : resolve(this.#ctx.repoPath, source.path)
  }

  /** SQL naming a file source as a relation (`read_parquet('…')`); checks the file exists. */
  sourceRelation(source: FileSourceSpec): string {
    const path = this.resolvePath(source)
    if (!/[*?[]/.test(path) && !existsSync(path)) {
      throw new MorselError(
        'MORSEL_SOURCE_INVALID',
        `Data source '${source.name}' reads ${source.path}, which does not exist (looked for ${path}). Create the file or fix \`path\`.`,
        { details: { source: source.name, path } },
      )
    }
    const literal = `'${path.replace(/'/g, "''")}'`
    return source.format === 'csv' ? `read_csv(${literal}, auto_detect = true, header = true)` : `read_parquet(${literal})`
  }

  async readTable(path: string): Promise<ColumnarRows> {
    const abs = isAbsolute(path) ? path : resolve(path)
    if (!existsSync(abs)) throw new MorselError('MORSEL_USAGE', `File ${abs} does not exist.`)
    const literal = `'${abs.replace(/'/g, "''")}'`
    const relation = /\.csv$/i.test(abs) ? `read_csv(${literal}, auto_detect = true, header = true)` : /\.parquet$/i.test(abs) ? `read_parquet(${literal})` : undefined
    if (relation === undefined) throw new MorselError('MORSEL_USAGE', `Cannot read ${abs}: give a .parquet or .csv file.`)
    const conn = await this.connect()
    try {
      const described = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowObjectsJS()
      const select = described
        .map((r) => {
          const name = (r.column_name as string)
          const q = `"${name.replace(/"/g, '""')}"`
          return isTimestampType((r.column_type as string)) ? `strftime(${q}::TIMESTAMPTZ, '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q}` : q
        })
        .join(', ')
      const reader = await conn.runAndReadAll(`SELECT ${select} FROM ${relation}`)
      const names = reader.columnNames()
      const raw = reader.getColumnsJS()
      const columns = new Map<string, unknown[]>()
      names.forEach((n, i) => columns.set(n, (raw[i] ?? []).map(fromDuckdb)))
      return { names, columns, rowCount: reader.currentRowCount }
    } catch (err) {
      if (err instanceof MorselError) throw err
      throw new MorselError('MORSEL_SOURCE_INVALID', `Cannot read ${abs}: ${(err as Error).message}`, { cause: err })
    } finally {
      conn.closeSync()
    }
  }

  async close(): Promise<void> {
    const inst = this.#instance
    this.#instance = undefined
    if (inst) (await inst).closeSync()
  }

  #duckdbOptions(): Record<string, string> {
    const o: Record<string, string> = {}
    if (this.#config.memory_limit !== undefined) o.memory_limit = this.#config.memory_limit
    if (this.#config.threads !== undefined) o.threads = String(this.#config.threads)
    if (this.#config.temp_directory !== undefined) o.temp_directory = resolve(this.#ctx.repoPath, this.#config.temp_directory)
    return o
  }
}

/** DuckDB hands BIGINTs over as bigint; a number is friendlier wherever it is exact. */
function fromDuckdb(v: unknown): unknown {
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
  return v
}
