import type { DuckDBConnection } from '@duckdb/node-api'
import type { LatestBatch, LatestRows, PullLatestRequest, PullOptions } from '../offline-store.js'
import { run, type JobContext } from './duckdb-historical-job.js'
import { castFeature, orderKey } from './duckdb-historical-sql.js'
import { ident, timestampLiteral } from './duckdb-sql.js'
import { valueTypeToDuckdbType } from './duckdb-types.js'
import { columnReaders, type ColumnReader } from './duckdb-values.js'

const EVENT_US = '__morsel_event_us'
const LATEST = '__morsel_latest'

/**
 * The SQL of a pull: the latest row per entity within the window, and the number of such rows.
 * "Latest" is `arg_max` over the (event time, created time) key that the point-in-time join
 * uses too, so both agree on ties; a null created time loses to any other.
 */
export function pullLatestSql(request: PullLatestRequest, relation: string, partition?: { readonly index: number; readonly of: number }): { readonly count: string; readonly select: string } {
  const ts = `CAST(${ident(request.timestampField)} AS TIMESTAMPTZ)`
  const created = request.createdTimestampColumn !== '' ? `CAST(${ident(request.createdTimestampColumn)} AS TIMESTAMPTZ)` : 'CAST(NULL AS TIMESTAMPTZ)'
  const keys = request.joinKeys.map((k) => `CAST(${ident(k.column)} AS ${valueTypeToDuckdbType(k.valueType)})`)
  // Rows without a key cannot be addressed online, and rows without a time are in no window.
  const window = [`${ts} BETWEEN ${timestampLiteral(request.startMicros)} AND ${timestampLiteral(request.endMicros)}`, ...request.joinKeys.map((k) => `${ident(k.column)} IS NOT NULL`)]
  const where = window.join(' AND ')
  const partWhere = partition === undefined || partition.of === 1 ? where : [...window, `hash(${keys.join(', ')}) % ${partition.of} = ${partition.index}`].join(' AND ')
  const features = request.features.map((f) => `${ident(f.name)} := ${castFeature(ident(f.column), f.valueType)}`)
  const comment = `-- latest row per entity of feature view '${request.view}' from source '${request.source.name}'`.replace(/[\r\n]+/g, ' ')
  return {
    count: `SELECT count(*) FROM (SELECT DISTINCT ${keys.join(', ')} FROM ${relation} WHERE ${where})`,
    select: [
      comment,
      `SELECT ${[...request.joinKeys.map((k) => ident(k.name)), ...(features.length > 0 ? [`UNNEST(${LATEST})`] : []), EVENT_US].join(', ')} FROM (`,
      `  SELECT ${[
        ...keys.map((k, i) => `${k} AS ${ident((request.joinKeys[i] as { name: string }).name)}`),
        ...(features.length > 0 ? [`arg_max(struct_pack(${features.join(', ')}), ${orderKey(ts, created)}) AS ${LATEST}`] : []),
        `max(epoch_us(${ts})) AS ${EVENT_US}`,
      ].join(', ')}`,
      `  FROM ${relation}`,
      `  WHERE ${partWhere}`,
      `  GROUP BY ${keys.map((_, i) => String(i + 1)).join(', ')}`,
      ')',
    ].join('\n'),
  }
}

/** Entities deduplicated per query: DuckDB holds one aggregate state per entity of a partition, so this bounds its memory. */
const PARTITION_ENTITIES = 250_000

/**
 * Streams the latest row per entity of a window out of DuckDB. DuckDB does the deduplication
 * (spilling to disk beyond its memory limit); JavaScript holds one batch at a time.
 */
export async function pullLatest(ctx: JobContext, request: PullLatestRequest, options: PullOptions): Promise<LatestRows> {
  const relation = ctx.sourceRelation(request.source)
  const sql = pullLatestSql(request, relation)
  const batchRows = options.batchRows ?? 10_000
  const conn = await ctx.connect()
  const interrupt = (): void => conn.interrupt()
  options.signal?.addEventListener('abort', interrupt, { once: true })
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    options.signal?.removeEventListener('abort', interrupt)
    conn.closeSync()
  }
  let rowCount: number
  try {
    const counted = await run(() => conn.runAndReadAll(sql.count), `Reading feature view '${request.view}'`)
    rowCount = Number(counted.getRows()[0]?.[0] ?? 0)
  } catch (err) {
    close()
    throw err
  }
  const names = [...request.joinKeys.map((k) => k.name), ...request.features.map((f) => f.name)]
  // Entities are split by key hash into partitions read one after another: memory stays flat
  // however many entities the window holds, for the price of one more scan per partition.
  const of = Math.max(1, Math.ceil(rowCount / (options.partitionEntities ?? PARTITION_ENTITIES)))
  const selects = Array.from({ length: of }, (_, index) => pullLatestSql(request, relation, { index, of }).select)
  return {
    rowCount,
    batches: () => batches(conn, selects, names, batchRows, request.view, close),
    close: async () => close(),
  }
}

async function* batches(conn: DuckDBConnection, selects: readonly string[], names: readonly string[], batchRows: number, view: string, close: () => void): AsyncGenerator<LatestBatch> {
  const what = `Reading feature view '${view}'`
  try {
    let part = 0
    let result = await run(() => conn.stream(selects[0] as string), what)
    const readers: ColumnReader[] = columnReaders(result.columnTypes(), 'date')
    // Rows are copied straight from DuckDB's chunks into the batch's arrays, one batch at a time.
    let columns = names.map(() => new Array<unknown>(batchRows))
    let times = new Float64Array(batchRows)
    let filled = 0
    for (;;) {
      let chunk = await run(() => result.fetchChunk(), what)
      while ((chunk === null || chunk.rowCount === 0) && part + 1 < selects.length) {
        part++
        result = await run(() => conn.stream(selects[part] as string), what)
        chunk = await run(() => result.fetchChunk(), what)
      }
      if (chunk === null || chunk.rowCount === 0) break
      for (let from = 0; from < chunk.rowCount; ) {
        const count = Math.min(chunk.rowCount - from, batchRows - filled)
        for (let c = 0; c < names.length; c++) (readers[c] as ColumnReader)(chunk, c, columns[c] as unknown[], filled, from, count)
        ;(readers[names.length] as ColumnReader)(chunk, names.length, times, filled, from, count)
        filled += count
        from += count
        if (filled === batchRows) {
          yield { names, columns: new Map(names.map((n, i) => [n, columns[i] as unknown[]])), rowCount: filled, eventTimeMicros: times }
          columns = names.map(() => new Array<unknown>(batchRows))
          times = new Float64Array(batchRows)
          filled = 0
        }
      }
    }
    if (filled > 0) {
      for (const col of columns) col.length = filled
      yield { names, columns: new Map(names.map((n, i) => [n, columns[i] as unknown[]])), rowCount: filled, eventTimeMicros: times.subarray(0, filled) }
    }
  } finally {
    close()
  }
}
