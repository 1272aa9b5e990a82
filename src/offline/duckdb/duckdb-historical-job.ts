import { randomUUID } from 'node:crypto'
import { extname } from 'node:path'
import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult, DuckDBType } from '@duckdb/node-api'
import { MorselError, isMorselError } from '../../errors/index.js'
import type { ColumnarRows } from '../../types/columnar.js'
import { checkEntityColumns } from '../entity-columns.js'
import { writeAtomically } from '../../internal/atomic-file.js'
import type { HistoricalQuery, OfflineJob, OfflineResult, OperationOptions, ResultColumn, ResultOptions } from '../offline-store.js'
import { buildHistoricalSql, ENTITY_TABLE, ROW_COLUMN, type HistoricalSql, type SqlContext } from './duckdb-historical-sql.js'
import { ident, literal } from './duckdb-sql.js'
import type * as DuckdbValuesModule from './duckdb-values.js'
import type { ColumnReader } from './duckdb-values.js'
import { duckdbTypeToValueType, valueTypeToDuckdbType } from './duckdb-types.js'

/** What a job needs from its store. */
export interface JobContext extends SqlContext {
  connect(): Promise<DuckDBConnection>
}

/** A point-in-time join on DuckDB. Each run opens its own connection, so a job can run many times. */
export class DuckdbHistoricalJob implements OfflineJob {
  readonly #ctx: JobContext
  readonly #query: HistoricalQuery
  readonly #sql: HistoricalSql

  constructor(ctx: JobContext, query: HistoricalQuery) {
    this.#ctx = ctx
    this.#query = query
    this.#sql = buildHistoricalSql(query, ctx, { keepRow: query.transform !== undefined })
  }

  toSql(): string {
    const loaded = this.#query.entities.kind === 'rows' ? [`-- ${this.#query.entities.rows.rowCount} entity rows appended to ${ENTITY_TABLE}`] : []
    return [...this.#sql.prelude.map((s) => `${s};`), ...loaded, `${this.#sql.select};`].join('\n')
  }

  async execute(options: ResultOptions = {}): Promise<OfflineResult> {
    const conn = await this.#ctx.connect()
    const stopAbort = onAbort(options.signal, conn)
    try {
      const entityNames = await this.#prepare(conn)
      const result = await run(() => conn.stream(this.#sql.select), 'The point-in-time join')
      return this.#result(conn, result, entityNames, options, stopAbort, await import('./duckdb-values.js'))
    } catch (err) {
      stopAbort()
      conn.closeSync()
      throw err
    }
  }

  async toFile(path: string, options: OperationOptions = {}): Promise<number> {
    const format = fileFormat(path)
    return writeFileAtomically(path, async (tmp) => {
      const conn = await this.#ctx.connect()
      const stopAbort = onAbort(options.signal, conn)
      try {
        const entityNames = await this.#prepare(conn)
        const target = `TO ${literal(tmp)} (FORMAT ${format}${format === 'csv' ? ', HEADER true' : ''})`
        if (this.#query.transform === undefined) {
          return await copyCount(conn, `COPY (\n${this.#sql.select}\n) ${target}`)
        }
        return await this.#transformToFile(conn, entityNames, target)
      } finally {
        stopAbort()
        conn.closeSync()
      }
    })
  }

  /** Loads the entity rows and checks their columns; returns their names. */
  async #prepare(conn: DuckDBConnection): Promise<string[]> {
    for (const statement of this.#sql.prelude) await run(() => conn.run(statement), 'Reading the entity rows')
    const entities = this.#query.entities
    if (entities.kind === 'rows') await appendEntityRows(conn, entities.rows, await tableTypes(conn, ENTITY_TABLE))
    const described = await run(() => conn.runAndReadAll(`DESCRIBE SELECT * FROM ${this.#sql.entityRelation}`), 'Reading the entity rows')
    const names = described.getRowObjectsJS().map((r) => r.column_name as string).filter((n) => !(entities.kind === 'file' && n === 'file_row_number'))
    checkEntityColumns(this.#query, names)
    return names
  }

  #result(conn: DuckDBConnection, result: DuckDBResult, entityNames: readonly string[], options: ResultOptions, stopAbort: () => void, values: DuckdbValues): OfflineResult {
    const transform = this.#query.transform
    const types = result.columnTypes()
    const names = result.columnNames()
    const index = new Map(names.map((n, i) => [n, i]))
    const outputs = new Map((transform?.outputs ?? []).map((o, i) => [o.name, i]))
    const columns: ResultColumn[] = [...entityNames, ...this.#query.outputColumns].map((name) => {
      const i = index.get(name)
      if (i !== undefined) {
        const t = types[i] as DuckDBType
        return { name, valueType: duckdbTypeToValueType(t.toString()), sourceType: t.toString() }
      }
      const o = transform?.outputs[outputs.get(name) ?? -1]
      if (o === undefined) throw new MorselError('MORSEL_INTERNAL', `Result column '${name}' is neither in the join nor a transform output.`)
      return { name, valueType: o.valueType, sourceType: valueTypeToDuckdbType(o.valueType) }
    })
    const readers = values.columnReaders(types, options.timestamps ?? 'date')
    const dateReaders = options.timestamps === 'micros' ? values.columnReaders(types, 'date') : readers
    let closed = false
    const close = (): void => {
      if (closed) return
      closed = true
      stopAbort()
      conn.closeSync()
    }
    async function* batches(): AsyncGenerator<ColumnarRows> {
      try {
        for (;;) {
          const chunk = await run(() => result.fetchChunk(), 'The point-in-time join')
          if (chunk === null || chunk.rowCount === 0) return
          yield assemble(chunk)
        }
      } finally {
        close()
      }
    }
    const assemble = (chunk: DuckDBDataChunk): ColumnarRows => {
      const rowCount = chunk.rowCount
      const byName = new Map<string, readonly unknown[]>()
      for (const c of columns) {
        const i = index.get(c.name)
        if (i !== undefined) byName.set(c.name, values.readColumn(readers[i] as ColumnReader, chunk, i))
      }
      if (transform !== undefined) {
        const inputs = new Map<string, readonly unknown[]>()
        for (const name of transform.inputs) {
          const i = index.get(name)
          if (i === undefined) throw new MorselError('MORSEL_INTERNAL', `Transform input '${name}' is not in the join.`)
          // Transforms always see Dates, whatever form the caller asked timestamps in.
          inputs.set(name, (dateReaders === readers ? byName.get(name) : undefined) ?? values.readColumn(dateReaders[i] as ColumnReader, chunk, i))
        }
        const out = transform.apply({ names: transform.inputs, columns: inputs, rowCount })
        transform.outputs.forEach((o, j) => byName.set(o.name, out[j] as unknown[]))
      }
      return { names: columns.map((c) => c.name), columns: byName, rowCount }
    }
    return { columns, batches, close: async () => close() }
  }

  /**
   * On-demand features into a file without holding the training set in JavaScript: the join goes
   * into a table, its transform inputs are streamed through the functions chunk by chunk, the
   * outputs appended to a second table in the same order, and the two are written side by side.
   */
  async #transformToFile(conn: DuckDBConnection, entityNames: readonly string[], target: string): Promise<number> {
    const transform = this.#query.transform!
    const { dataChunks, columnReaders, readColumn } = await import('./duckdb-values.js')
    const id = randomUUID().replace(/-/g, '').slice(0, 12)
    const joined = ident(`__morsel_join_${id}`)
    const computed = ident(`__morsel_computed_${id}`)
    const writer = await this.#ctx.connect()
    try {
      await run(() => conn.run(`CREATE TABLE ${joined} AS\n${this.#sql.select}`), 'The point-in-time join')
      const outTypes = transform.outputs.map((o) => `${ident(o.name)} ${valueTypeToDuckdbType(o.valueType)}`)
      await writer.run(`CREATE TABLE ${computed} (${ROW_COLUMN} BIGINT${outTypes.length ? ', ' : ''}${outTypes.join(', ')})`)
      const appender = await writer.createAppender(`__morsel_computed_${id}`)
      const types = await tableTypes(writer, `__morsel_computed_${id}`)
      const inputs = await conn.stream(`SELECT ${[ROW_COLUMN, ...transform.inputs].map(ident).join(', ')} FROM ${joined}`)
      let readers: ColumnReader[] | undefined
      for (;;) {
        const chunk = await inputs.fetchChunk()
        if (chunk === null || chunk.rowCount === 0) break
        readers ??= columnReaders(inputs.columnTypes(), 'date')
        const cols = readers.map((read, i) => readColumn(read, chunk, i))
        const batch = { names: transform.inputs, columns: new Map(transform.inputs.map((n, i) => [n, cols[i + 1] as unknown[]])), rowCount: chunk.rowCount }
        const out = transform.apply(batch)
        for (const dc of dataChunks(types, [cols[0] as unknown[], ...out], chunk.rowCount)) appender.appendDataChunk(dc)
      }
      appender.closeSync()
      const outputs = new Set(transform.outputs.map((o) => o.name))
      const select = [...entityNames.map((n) => `j.${ident(n)}`), ...this.#query.outputColumns.map((n) => `${outputs.has(n) ? 'c' : 'j'}.${ident(n)}`)]
      // POSITIONAL JOIN pairs the tables by insertion order; the check makes a misalignment an error, never wrong data.
      return await copyCount(
        conn,
        `COPY (\nSELECT ${select.join(', ')}\nFROM ${joined} j POSITIONAL JOIN ${computed} c\nWHERE CASE WHEN j.${ROW_COLUMN} IS DISTINCT FROM c.${ROW_COLUMN} THEN error('on-demand outputs out of step with the join') ELSE true END\n) ${target}`,
      )
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${joined}`).catch(() => undefined)
      await writer.run(`DROP TABLE IF EXISTS ${computed}`).catch(() => undefined)
      writer.closeSync()
    }
  }
}

type DuckdbValues = typeof DuckdbValuesModule

async function appendEntityRows(conn: DuckDBConnection, rows: ColumnarRows, types: readonly DuckDBType[]): Promise<void> {
  const { dataChunks } = await import('./duckdb-values.js')
  const appender = await conn.createAppender(ENTITY_TABLE)
  try {
    const columns = rows.names.map((n) => rows.columns.get(n) as readonly unknown[])
    for (const chunk of dataChunks(types, columns, rows.rowCount)) appender.appendDataChunk(chunk)
    appender.flushSync()
  } finally {
    appender.closeSync()
  }
}

async function tableTypes(conn: DuckDBConnection, table: string): Promise<DuckDBType[]> {
  const r = await conn.runAndReadAll(`SELECT * FROM ${ident(table)} LIMIT 0`)
  return r.columnTypes()
}

async function copyCount(conn: DuckDBConnection, sql: string): Promise<number> {
  const r = await run(() => conn.runAndReadAll(sql), 'Writing the training set')
  const first = r.getRows()[0]?.[0]
  return first === undefined ? r.rowsChanged : Number(first)
}

function fileFormat(path: string): 'parquet' | 'csv' {
  const ext = extname(path).toLowerCase()
  if (ext === '.parquet') return 'parquet'
  if (ext === '.csv') return 'csv'
  throw new MorselError('MORSEL_USAGE', `Cannot write ${path}: name the output .parquet or .csv.`)
}

function onAbort(signal: AbortSignal | undefined, conn: DuckDBConnection): () => void {
  if (signal === undefined) return () => undefined
  const interrupt = (): void => conn.interrupt()
  if (signal.aborted) interrupt()
  signal.addEventListener('abort', interrupt, { once: true })
  return () => signal.removeEventListener('abort', interrupt)
}

/** Runs a DuckDB call, turning its errors into Morsel's: bad values into MORSEL_VALUE_INVALID, unreadable files into MORSEL_SOURCE_INVALID, the rest into MORSEL_STORE_ERROR. */
/** `writeAtomically` for files the offline store writes, its failures worded as a store error. */
export async function writeFileAtomically<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  try {
    return await writeAtomically(path, write)
  } catch (err) {
    if (isMorselError(err)) throw err
    throw new MorselError('MORSEL_STORE_ERROR', `Could not write ${path}: ${(err as Error).message}`, { cause: err })
  }
}

export async function run<T>(fn: () => Promise<T>, what: string): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (isMorselError(err)) throw err
    const message = (err as Error).message
    if (/^INTERRUPT/i.test(message)) throw new MorselError('MORSEL_TIMEOUT', `${what} was cancelled.`, { cause: err })
    // A damaged or truncated Parquet file is a broken source, not a bad value in it.
    if (/^Invalid Input Error: .*(No magic bytes|too small to be a Parquet file|Footer length error|Parquet)/i.test(message)) {
      throw new MorselError('MORSEL_SOURCE_INVALID', `${what} failed: a source file is not readable Parquet (damaged, truncated or of another format): ${message}`, { cause: err })
    }
    if (/^(Conversion|Invalid Input) Error/i.test(message)) throw new MorselError('MORSEL_VALUE_INVALID', `${what} failed on a value: ${message}`, { cause: err })
    if (/^(Binder|Parser|Catalog) Error/i.test(message) && what.startsWith('Reading the entity')) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `${what} failed: ${message}`, { cause: err })
    }
    if (/^IO Error/i.test(message)) throw new MorselError('MORSEL_SOURCE_INVALID', `${what} failed reading a file: ${message}`, { cause: err })
    throw new MorselError('MORSEL_STORE_ERROR', `${what} failed in DuckDB: ${message}`, { cause: err })
  }
}
