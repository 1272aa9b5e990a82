import { appendFile, open, readFile, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { BatchSourceSpec } from '../../definitions/specs.js'
import { MorselError, didYouMean } from '../../errors/index.js'
import { acquireLockFile, describeOwner } from '../../internal/lock-file.js'
import { toEpochMicros } from '../../internal/time.js'
import { fitsType } from '../../types/fits-type.js'
import type { ColumnarRows } from '../../types/columnar.js'
import { ELEMENT_OF, ValueType } from '../../types/value-type.js'
import type { OperationOptions, SourceColumn } from '../offline-store.js'
import { run, writeFileAtomically } from './duckdb-historical-job.js'
import type { DuckdbOfflineStore } from './duckdb-offline-store.js'
import { ident, literal } from './duckdb-sql.js'
import { dataChunks } from './duckdb-values.js'

/**
 * Appends rows to a file source (pushes with `to: offline`). Every value is checked against the
 * source's column types first, so bad input leaves the file untouched. A Parquet file is rewritten
 * whole through a temporary file and a rename; a CSV file gets the new lines appended and synced.
 *
 * Appends to one file are serialised across processes by a lock file beside it: two rewrites of a
 * Parquet file at once would each rename their own copy over it, and the first one's rows would
 * be lost. A row identical, in every column given, to one the file already holds is not appended
 * again (the created timestamp Morsel stamps does not count): a push retried after a timeout,
 * whose first attempt did land, adds nothing. Returns the number of rows appended.
 */
export async function appendRows(store: DuckdbOfflineStore, source: BatchSourceSpec, rows: ColumnarRows, options: OperationOptions): Promise<number> {
  const file = source.kind === 'push' ? source.batchSource : source
  const what = `Rows for source '${source.name}'`
  if (rows.rowCount === 0) return 0
  const columns = await store.describeSource(file)
  const byName = new Map(columns.map((c) => [c.name, c]))
  const reverse = new Map(Object.entries(file.fieldMapping).map(([from, to]) => [to, from]))

  const values = new Map<string, readonly unknown[]>()
  for (const name of rows.names) {
    const col = byName.has(name) ? name : reverse.get(name)
    if (col === undefined || !byName.has(col)) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `${what}: column '${name}' is not a column of ${file.path}.${didYouMean(name, [...byName.keys(), ...reverse.keys()])} Columns: ${columns.map((c) => c.name).join(', ')}.`, {
        details: { column: name },
      })
    }
    if (values.has(col)) throw new MorselError('MORSEL_REQUEST_INVALID', `${what}: columns '${name}' and '${file.fieldMapping[col] ?? col}' both fill '${col}'; give one.`)
    values.set(col, rows.columns.get(name) as readonly unknown[])
  }
  const now = Date.now() * 1000
  const missing = columns.filter((c) => !values.has(c.name) && c.name !== file.createdTimestampColumn).map((c) => c.name)
  if (missing.length > 0) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `${what} lack the columns ${missing.join(', ')} of ${file.path}; give every column (null is allowed).`, { details: { missing } })
  }

  // Timestamps travel as TIMESTAMPTZ (epoch microseconds) and are cast to the file's own type on the way out.
  const data = columns.map((c) => {
    const given = values.get(c.name)
    if (given === undefined) return new Array<unknown>(rows.rowCount).fill(now)
    return checkColumn(c, given, rows.rowCount, what)
  })
  const stagingTypes = columns.map((c) => (c.isTimestamp ? 'TIMESTAMPTZ' : c.sourceType))
  const path = store.resolvePath(file.path)
  // The created time Morsel stamps differs between a push and its retry, so it is not compared.
  const compared = columns.filter((c) => values.has(c.name))
  const release = await lockForAppend(path, what, options)
  try {
    const conn = await store.connect()
    try {
      await conn.run(`CREATE OR REPLACE TEMP TABLE __morsel_append (${columns.map((c, i) => `${ident(c.name)} ${stagingTypes[i]}`).join(', ')})`)
      const types = (await conn.runAndReadAll('SELECT * FROM __morsel_append LIMIT 0')).columnTypes()
      const appender = await conn.createAppender('__morsel_append')
      try {
        for (const chunk of dataChunks(types, data, rows.rowCount)) appender.appendDataChunk(chunk)
        appender.flushSync()
      } finally {
        appender.closeSync()
      }
      const existing = store.sourceRelation(file)
      const same = compared.map((c) => `o.${ident(c.name)} IS NOT DISTINCT FROM n.${ident(c.name)}`).join(' AND ')
      await run(
        () =>
          conn.run(
            `CREATE OR REPLACE TEMP TABLE __morsel_new AS SELECT * FROM (SELECT ${columns.map((c) => `CAST(${ident(c.name)} AS ${c.sourceType}) AS ${ident(c.name)}`).join(', ')} FROM __morsel_append) n ` +
              `WHERE NOT EXISTS (SELECT 1 FROM ${existing} o WHERE ${same})`,
          ),
        `Appending to ${path}`,
      )
      const added = Number((await conn.runAndReadAll('SELECT count(*) FROM __morsel_new')).getRows()[0]![0])
      if (added === 0) return 0
      if (file.format === 'parquet') {
        await writeFileAtomically(path, async (tmp) => {
          await run(() => conn.run(`COPY (SELECT * FROM read_parquet(${literal(path)}) UNION ALL BY NAME SELECT * FROM __morsel_new) TO ${literal(tmp)} (FORMAT parquet)`), `Appending to ${path}`)
        })
      } else {
        await appendCsv(conn, path, 'SELECT * FROM __morsel_new')
      }
      return added
    } finally {
      conn.closeSync()
    }
  } finally {
    await release()
  }
}

function lockForAppend(path: string, what: string, options: OperationOptions): Promise<() => Promise<void>> {
  const lock = join(dirname(path), `.${basename(path)}.append.lock`)
  return acquireLockFile(lock, {
    what: `appending to ${path}`,
    // A Parquet rewrite takes as long as the file is big; a waiting push gives up after this.
    waitMs: 120_000,
    staleMs: 3600_000,
    ...(options.signal !== undefined && { signal: options.signal }),
    ioError: (err) => new MorselError('MORSEL_STORE_ERROR', `${what}: could not create the append lock ${lock}: ${(err as Error).message}`, { cause: err }),
    busy: (holder) =>
      new MorselError(
        'MORSEL_BUSY',
        `${what}: ${path} is being appended to by another process (${describeOwner(holder)}) for over two minutes. Push again later; if no morsel process is running, delete ${lock}.`,
        { details: { lock, ...(holder && { pid: holder.pid, host: holder.host, since: holder.at }) } },
      ),
  })
}

async function appendCsv(conn: Awaited<ReturnType<DuckdbOfflineStore['connect']>>, path: string, select: string): Promise<void> {
  const staged = `${path}.${process.pid}.append.tmp`
  try {
    await run(() => conn.run(`COPY (${select}) TO ${literal(staged)} (FORMAT csv, HEADER false)`), `Appending to ${path}`)
    const lines = await readFile(staged)
    const fh = await open(path, 'r')
    let needsNewline = false
    try {
      const { size } = await fh.stat()
      if (size > 0) {
        const last = Buffer.alloc(1)
        await fh.read(last, 0, 1, size - 1)
        needsNewline = last[0] !== 0x0a
      }
    } finally {
      await fh.close()
    }
    // One write of whole lines, then fsync: a reader never sees a line without its end.
    await appendFile(path, needsNewline ? Buffer.concat([Buffer.from('\n'), lines]) : lines, { flush: true })
  } finally {
    await rm(staged, { force: true })
  }
}

function checkColumn(c: SourceColumn, given: readonly unknown[], rowCount: number, what: string): unknown[] {
  const out = new Array<unknown>(rowCount)
  const vt = c.valueType
  for (let r = 0; r < rowCount; r++) {
    const v = given[r]
    if (v === null || v === undefined) {
      out[r] = null
      continue
    }
    if (c.isTimestamp) {
      out[r] = toEpochMicros(v, `${what}, row ${r}: '${c.name}'`)
      continue
    }
    const ok = vt === null ? false : vt === ValueType.INT64 || vt === ValueType.INT32 ? Number.isInteger(v) || typeof v === 'bigint' : fitsType(v, vt)
    if (!ok || (vt !== null && ELEMENT_OF[vt] === ValueType.UNIX_TIMESTAMP)) {
      throw new MorselError('MORSEL_VALUE_INVALID', `${what}, row ${r}: '${c.name}' is ${describe(v)}, but the column is ${c.sourceType} in the file.`, {
        details: { column: c.name, row: r, expected: c.sourceType },
      })
    }
    out[r] = v
  }
  return out
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`
  if (Array.isArray(v)) return 'a list'
  if (v instanceof Uint8Array) return 'bytes'
  return `${typeof v} ${String(v)}`
}
