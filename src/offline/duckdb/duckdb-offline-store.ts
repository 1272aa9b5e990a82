import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'
import type { BatchSourceSpec, FileSourceSpec } from '../../definitions/specs.js'
import { MorselError } from '../../errors/index.js'
import type { ColumnarRows } from '../../types/columnar.js'
import type {
  HistoricalQuery,
  LatestRows,
  OfflineJob,
  OfflineStore,
  OfflineStoreContext,
  OperationOptions,
  PullLatestRequest,
  PullOptions,
  SourceColumn,
} from '../offline-store.js'
import { DuckdbHistoricalJob } from './duckdb-historical-job.js'
import type { DuckdbOfflineStoreConfig } from './duckdb-offline-store-config.js'
import { literal } from './duckdb-sql.js'
import { duckdbTypeToValueType, isTimestampType } from './duckdb-types.js'

export async function createDuckdbOfflineStore(config: DuckdbOfflineStoreConfig, ctx: OfflineStoreContext): Promise<DuckdbOfflineStore> {
  return new DuckdbOfflineStore(config, ctx)
}

/**
 * The offline store on an in-process DuckDB, reading Parquet and CSV sources in place. The
 * database and its native driver are loaded on the first query, so opening a repository that
 * never reads offline data costs nothing.
 */
export class DuckdbOfflineStore implements OfflineStore {
  readonly kind = 'duckdb'
  readonly #config: DuckdbOfflineStoreConfig
  readonly #ctx: OfflineStoreContext
  #instance: Promise<DuckDBInstance> | undefined
  /** Appends per file, one after another: two rewrites of one Parquet file must not interleave. */
  readonly #appends = new Map<string, Promise<unknown>>()

  constructor(config: DuckdbOfflineStoreConfig, ctx: OfflineStoreContext) {
    this.#config = config
    this.#ctx = ctx
  }

  /** A new connection to the store's database; the caller closes it. */
  async connect(): Promise<DuckDBConnection> {
    this.#instance ??= import('@duckdb/node-api').then(({ DuckDBInstance }) => DuckDBInstance.create(':memory:', this.#duckdbOptions()))
    let instance: DuckDBInstance
    try {
      instance = await this.#instance
    } catch (err) {
      this.#instance = undefined
      throw new MorselError('MORSEL_STORE_UNAVAILABLE', `DuckDB could not start: ${(err as Error).message}. Check \`offline_store\` in feature_store.yaml.`, { cause: err })
    }
    const conn = await instance.connect()
    try {
      // Times are compared as UTC instants and exchanged as UTC text; the session zone must not shift them.
      await conn.run("SET TimeZone = 'UTC'")
      // Relative paths in entity SQL resolve against the repository, like source paths.
      await conn.run(`SET file_search_path = ${literal(this.#ctx.repoPath)}`)
    } catch (err) {
      conn.closeSync()
      throw new MorselError(
        'MORSEL_STORE_ERROR',
        `DuckDB could not set up a session for the repository ${JSON.stringify(this.#ctx.repoPath)}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    return conn
  }

  async describeSource(source: BatchSourceSpec): Promise<readonly SourceColumn[]> {
    const file = source.kind === 'push' ? source.batchSource : source
    const relation = this.sourceRelation(file)
    const conn = await this.connect()
    try {
      const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)
      return reader.getRowObjectsJS().map((r) => {
        const sourceType = r.column_type as string
        return { name: r.column_name as string, sourceType, valueType: duckdbTypeToValueType(sourceType), isTimestamp: isTimestampType(sourceType) }
      })
    } catch (err) {
      throw new MorselError(
        'MORSEL_SOURCE_INVALID',
        `Data source '${source.name}' cannot be read from ${this.resolvePath(file.path)}: ${(err as Error).message}`,
        { cause: err },
      )
    } finally {
      conn.closeSync()
    }
  }

  /** An absolute path; relative ones are relative to the repository. */
  resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolve(this.#ctx.repoPath, path)
  }

  /** SQL naming a file source as a relation (`read_parquet('…')`); checks the file exists. */
  sourceRelation(source: FileSourceSpec): string {
    const path = this.resolvePath(source.path)
    if (!/[*?[]/.test(path) && !existsSync(path)) {
      throw new MorselError(
        'MORSEL_SOURCE_INVALID',
        `Data source '${source.name}' reads ${source.path}, which does not exist (looked for ${path}). Create the file or fix \`path\`.`,
        { details: { source: source.name, path } },
      )
    }
    return source.format === 'csv' ? `read_csv(${literal(path)}, auto_detect = true, header = true)` : `read_parquet(${literal(path)})`
  }

  async readTable(path: string): Promise<ColumnarRows> {
    const abs = isAbsolute(path) ? path : resolve(path)
    if (!existsSync(abs)) throw new MorselError('MORSEL_USAGE', `File ${abs} does not exist.`)
    const relation = /\.csv$/i.test(abs) ? `read_csv(${literal(abs)}, auto_detect = true, header = true)` : /\.parquet$/i.test(abs) ? `read_parquet(${literal(abs)})` : undefined
    if (relation === undefined) throw new MorselError('MORSEL_USAGE', `Cannot read ${abs}: give a .parquet or .csv file.`)
    const conn = await this.connect()
    try {
      const described = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowObjectsJS()
      const select = described
        .map((r) => {
          const name = r.column_name as string
          const q = `"${name.replace(/"/g, '""')}"`
          return isTimestampType(r.column_type as string) ? `strftime(${q}::TIMESTAMPTZ, '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q}` : q
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

  historicalJob(query: HistoricalQuery): OfflineJob {
    return new DuckdbHistoricalJob(this, query)
  }

  async pullLatest(request: PullLatestRequest, options: PullOptions = {}): Promise<LatestRows> {
    const { pullLatest } = await import('./duckdb-pull-latest.js')
    return pullLatest(this, request, options)
  }

  async appendRows(source: BatchSourceSpec, rows: ColumnarRows, options: OperationOptions = {}): Promise<number> {
    const file = source.kind === 'push' ? source.batchSource : source
    const path = this.resolvePath(file.path)
    const previous = this.#appends.get(path) ?? Promise.resolve()
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const { appendRows } = await import('./duckdb-append-rows.js')
        return appendRows(this, source, rows, options)
      })
    this.#appends.set(path, next)
    try {
      return await next
    } finally {
      if (this.#appends.get(path) === next) this.#appends.delete(path)
    }
  }

  async close(): Promise<void> {
    const inst = this.#instance
    this.#instance = undefined
    if (inst) (await inst.catch(() => undefined))?.closeSync()
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
