import type { FileSourceSpec } from '../../definitions/specs.js'
import type { ValueTypeCode } from '../../types/value-type.js'
import type { EntitySource, HistoricalQuery, HistoricalViewQuery } from '../offline-store.js'
import { ident, literal, subquery } from './duckdb-sql.js'
import { valueTypeToDuckdbType } from './duckdb-types.js'

/** The temporary table entity rows are loaded into when they cannot be read in place. */
export const ENTITY_TABLE = '__morsel_entities'
/** The entity-row ordinal: the result is sorted on it, so rows come back in the order given. */
export const ROW_COLUMN = '__morsel_row'
const TS_COLUMN = '__morsel_ts'
const TS_US = '__morsel_ts_us'
const EVENT_US = '__morsel_event_us'
const PROBE_COLUMN = '__morsel_probe'
const EVENT_TS = '__morsel_event_ts'
const ORDER_KEY = '__morsel_order'

/** Engine facts the SQL needs: where files are and how a source is read. */
export interface SqlContext {
  readonly resolvePath: (path: string) => string
  readonly sourceRelation: (source: FileSourceSpec) => string
}

export interface HistoricalSql {
  /** Statements that load the entity rows, run before `select` on the same connection. */
  readonly prelude: readonly string[]
  /** The relation `select` reads entity rows from, for describing them. */
  readonly entityRelation: string
  /**
   * The join: the entity columns, then every view feature (visible or transform input) under its
   * query name, then `__morsel_row` when asked; sorted by entity row.
   */
  readonly select: string
}

/** How the entity rows are read: in place (a Parquet file, with its row numbers) or loaded into a table. */
export function entityPrelude(entities: EntitySource, ctx: SqlContext): { prelude: string[]; relation: string; rowExpr: string; exclude: string[] } {
  switch (entities.kind) {
    case 'rows': {
      const cols = entities.rows.names.map((n, i) => `${ident(n)} ${valueTypeToDuckdbType(entities.types[i] as ValueTypeCode)}`)
      return {
        prelude: [`CREATE OR REPLACE TEMP TABLE ${ENTITY_TABLE} (${cols.join(', ')})`],
        relation: ENTITY_TABLE,
        rowExpr: 'rowid',
        exclude: [],
      }
    }
    case 'file': {
      const path = ctx.resolvePath(entities.path)
      if (/\.parquet$/i.test(path)) {
        return { prelude: [], relation: `read_parquet(${literal(path)}, file_row_number = true)`, rowExpr: 'file_row_number', exclude: ['file_row_number'] }
      }
      // A CSV file is loaded first: a table's rowid is its insertion order, which is the file's order.
      return {
        prelude: [`CREATE OR REPLACE TEMP TABLE ${ENTITY_TABLE} AS SELECT * FROM read_csv(${literal(path)}, auto_detect = true, header = true)`],
        relation: ENTITY_TABLE,
        rowExpr: 'rowid',
        exclude: [],
      }
    }
    case 'sql':
      return {
        prelude: [`CREATE OR REPLACE TEMP TABLE ${ENTITY_TABLE} AS ${subquery(entities.sql)}`],
        relation: ENTITY_TABLE,
        rowExpr: 'rowid',
        exclude: [],
      }
  }
}

/**
 * Feast's point-in-time join as one DuckDB query: one ASOF LEFT JOIN per view, which finds for
 * each entity row the source row with the greatest event time at or before the entity's time.
 * With a created-timestamp column, the ASOF key is (event time, created time) packed into one
 * HUGEINT, so equal event times are decided by the later creation without a window over the
 * source; a null created time loses to any other. The ttl is a lower bound checked on the row the
 * join found: if the latest row is too old, every older one is too.
 */
export function buildHistoricalSql(query: HistoricalQuery, ctx: SqlContext, options: { readonly keepRow?: boolean } = {}): HistoricalSql {
  const entity = entityPrelude(query.entities, ctx)
  const needsProbe = query.views.some((v) => v.createdTimestampColumn !== '')
  const needsMicros = query.views.some((v) => v.ttlSeconds > 0)
  const exclude = [ROW_COLUMN, TS_COLUMN, ...(needsMicros ? [TS_US] : []), ...(needsProbe ? [PROBE_COLUMN] : [])]

  const ctes: string[] = []
  const entityCols = [
    `*${entity.exclude.length > 0 ? ` EXCLUDE (${entity.exclude.map(ident).join(', ')})` : ''}`,
    `${entity.rowExpr} AS ${ROW_COLUMN}`,
    `CAST(${ident(query.timestampColumn)} AS TIMESTAMPTZ) AS ${TS_COLUMN}`,
  ]
  // The ttl is checked on integers: TIMESTAMPTZ − INTERVAL goes through calendar arithmetic, an order of magnitude slower.
  if (needsMicros) entityCols.push(`epoch_us(CAST(${ident(query.timestampColumn)} AS TIMESTAMPTZ)) AS ${TS_US}`)
  if (needsProbe) {
    // The greatest (event time, created time) key at the entity's time: every row at or before it.
    entityCols.push(`epoch_us(CAST(${ident(query.timestampColumn)} AS TIMESTAMPTZ))::HUGEINT * ${TWO_64} + (${TWO_64} - 1) AS ${PROBE_COLUMN}`)
  }
  ctes.push(`__morsel_entity_rows AS (\n  SELECT ${entityCols.join(', ')}\n  FROM ${entity.relation}\n)`)

  const selects: string[] = [`e.* EXCLUDE (${exclude.map(ident).join(', ')})`]
  const joins: string[] = []
  query.views.forEach((v, i) => {
    const alias = `v${i}`
    ctes.push(viewCte(v, i, ctx))
    const fresh = v.ttlSeconds > 0 ? `${alias}.${EVENT_US} >= e.${TS_US} - ${v.ttlSeconds * 1_000_000}` : undefined
    v.features.forEach((f, j) => {
      const col = `${alias}.${ident(`__morsel_f${j}`)}`
      selects.push(`${fresh === undefined ? col : `CASE WHEN ${fresh} THEN ${col} END`} AS ${ident(f.name)}`)
    })
    const keys = v.joinKeys.map((k, j) => `CAST(e.${ident(k.name)} AS ${valueTypeToDuckdbType(k.valueType)}) = ${alias}.${ident(`__morsel_k${j}`)}`)
    const asof = v.createdTimestampColumn !== '' ? `e.${PROBE_COLUMN} >= ${alias}.${ORDER_KEY}` : `e.${TS_COLUMN} >= ${alias}.${EVENT_TS}`
    joins.push(`ASOF LEFT JOIN ${ident(`__morsel_view_${i}`)} ${alias} ON ${[...keys, asof].join(' AND ')}`)
  })
  if (options.keepRow === true) selects.push(`e.${ROW_COLUMN}`)

  const select = [
    `WITH ${ctes.join(',\n')}`,
    `SELECT ${selects.join(',\n  ')}`,
    'FROM __morsel_entity_rows e',
    ...joins,
    `ORDER BY e.${ROW_COLUMN}`,
  ].join('\n')
  return { prelude: entity.prelude, entityRelation: entity.relation, select }
}

const TWO_64 = '(1::HUGEINT << 64)'

function viewCte(v: HistoricalViewQuery, i: number, ctx: SqlContext): string {
  const ts = `CAST(${ident(v.timestampField)} AS TIMESTAMPTZ)`
  const cols = [
    ...v.joinKeys.map((k, j) => `CAST(${ident(k.column)} AS ${valueTypeToDuckdbType(k.valueType)}) AS ${ident(`__morsel_k${j}`)}`),
    `${ts} AS ${EVENT_TS}`,
    ...(v.ttlSeconds > 0 ? [`epoch_us(${ts}) AS ${EVENT_US}`] : []),
  ]
  if (v.createdTimestampColumn !== '') cols.push(`${orderKey(ts, `CAST(${ident(v.createdTimestampColumn)} AS TIMESTAMPTZ)`)} AS ${ORDER_KEY}`)
  v.features.forEach((f, j) => cols.push(`${castFeature(ident(f.column), f.valueType)} AS ${ident(`__morsel_f${j}`)}`))
  return [
    `${ident(`__morsel_view_${i}`)} AS ( -- ${sqlComment(`feature view '${v.view}', source '${v.source.name}'`)}`,
    `  SELECT ${cols.join(', ')}`,
    `  FROM ${ctx.sourceRelation(v.source)}`,
    `  WHERE ${ident(v.timestampField)} IS NOT NULL`,
    ')',
  ].join('\n')
}

/** (event time, created time) as one sortable HUGEINT: event µs in the high 64 bits, created µs (offset to unsigned) in the low. */
export function orderKey(eventTs: string, createdTs: string): string {
  return `epoch_us(${eventTs})::HUGEINT * ${TWO_64} + coalesce(epoch_us(${createdTs})::HUGEINT + (1::HUGEINT << 63), 0::HUGEINT)`
}

/** A source column cast to the declared type, so results have the registry's types. */
export function castFeature(column: string, valueType: ValueTypeCode): string {
  return `CAST(${column} AS ${valueTypeToDuckdbType(valueType)})`
}

function sqlComment(text: string): string {
  return text.replace(/[\r\n]+/g, ' ')
}
