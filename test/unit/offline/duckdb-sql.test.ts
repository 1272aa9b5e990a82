import { describe, expect, it } from 'vitest'
import type { FileSourceSpec } from '../../../src/definitions/specs.js'
import { buildHistoricalSql } from '../../../src/offline/duckdb/duckdb-historical-sql.js'
import { pullLatestSql } from '../../../src/offline/duckdb/duckdb-pull-latest.js'
import type { HistoricalQuery, HistoricalViewQuery } from '../../../src/offline/offline-store.js'
import { isMorselError } from '../../../src/errors/index.js'
import { duckdbTypeToValueType, valueTypeToDuckdbType } from '../../../src/offline/duckdb/duckdb-types.js'
import { LIST_OF, ValueType, type ValueTypeCode } from '../../../src/types/value-type.js'

const source = (name: string, path: string): FileSourceSpec => ({
  kind: 'file',
  name,
  path,
  format: 'parquet',
  timestampField: 'ts',
  createdTimestampColumn: '',
  fieldMapping: {},
  description: '',
  tags: {},
  owner: '',
})
const ctx = { resolvePath: (p: string) => `/repo/${p}`, sourceRelation: (s: FileSourceSpec) => `read_parquet('/repo/${s.path}')` }

const zip: HistoricalViewQuery = {
  view: 'zip',
  source: source('zip_src', 'zip.parquet'),
  joinKeys: [{ column: 'zip_code', name: 'zipcode', valueType: ValueType.INT64 }],
  timestampField: 'ts',
  createdTimestampColumn: 'created',
  ttlSeconds: 86400,
  features: [{ column: 'pop', name: 'population', valueType: ValueType.INT64 }],
}
const credit: HistoricalViewQuery = {
  view: 'credit',
  source: source('credit_src', 'credit.parquet'),
  joinKeys: [{ column: 'dob_ssn', name: 'dob_ssn', valueType: ValueType.STRING }],
  timestampField: 'ts',
  createdTimestampColumn: '',
  ttlSeconds: 0,
  features: [{ column: 'due', name: 'credit__due', valueType: ValueType.DOUBLE }],
}
const query = (entities: HistoricalQuery['entities']): HistoricalQuery => ({ entities, timestampColumn: 'event_timestamp', views: [zip, credit], requiredColumns: [], outputColumns: ['population', 'credit__due'] })

describe('the DuckDB point-in-time SQL', () => {
  it('joins each view with one ASOF LEFT JOIN on its keys, reading mapped source columns', () => {
    const { select, prelude } = buildHistoricalSql(query({ kind: 'file', path: 'e.parquet' }), ctx)
    expect(prelude).toEqual([])
    expect(select).toContain("FROM read_parquet('/repo/e.parquet', file_row_number = true)")
    expect(select.match(/ASOF LEFT JOIN/g)).toHaveLength(2)
    expect(select).toContain('CAST("zip_code" AS BIGINT) AS "__morsel_k0"')
    expect(select).toContain('CAST(e."zipcode" AS BIGINT) = v0."__morsel_k0"')
    expect(select).toContain('CAST("pop" AS BIGINT) AS "__morsel_f0"')
    expect(select.trimEnd().endsWith('ORDER BY e.__morsel_row')).toBe(true)
  })

  it('orders ties by the created timestamp only where there is one, and bounds the age only where there is a ttl', () => {
    const { select } = buildHistoricalSql(query({ kind: 'file', path: 'e.parquet' }), ctx)
    expect(select).toContain('e.__morsel_probe >= v0.__morsel_order')
    expect(select).toContain('e.__morsel_ts >= v1.__morsel_event_ts')
    expect(select).toContain('CASE WHEN v0.__morsel_event_us >= e.__morsel_ts_us - 86400000000 THEN v0."__morsel_f0" END AS "population"')
    expect(select).toContain('v1."__morsel_f0" AS "credit__due"')
  })

  it('loads CSV files, SQL and in-memory rows into a table first, whose rowid keeps their order', () => {
    expect(buildHistoricalSql(query({ kind: 'file', path: 'e.csv' }), ctx).prelude[0]).toContain("read_csv('/repo/e.csv'")
    expect(buildHistoricalSql(query({ kind: 'sql', sql: 'SELECT * FROM t;  ' }), ctx).prelude).toEqual(['CREATE OR REPLACE TEMP TABLE __morsel_entities AS SELECT * FROM t'])
    const rows = buildHistoricalSql(
      query({ kind: 'rows', rows: { names: ['zipcode', 'event_timestamp'], columns: new Map(), rowCount: 0 }, types: [ValueType.INT64, ValueType.UNIX_TIMESTAMP] }),
      ctx,
    )
    expect(rows.prelude).toEqual(['CREATE OR REPLACE TEMP TABLE __morsel_entities ("zipcode" BIGINT, "event_timestamp" TIMESTAMPTZ)'])
    expect(rows.select).toContain('rowid AS __morsel_row')
  })
})

describe('the DuckDB materialization pull', () => {
  const request = { ...zip, startMicros: 1_700_000_000_000_000, endMicros: 1_700_000_000_000_001 }
  it('keeps the latest row per entity of an inclusive window, by the same (event, created) key as the join', () => {
    const { select, count } = pullLatestSql(request, "read_parquet('x')")
    expect(select).toContain("BETWEEN TIMESTAMPTZ '2023-11-14T22:13:20Z' AND TIMESTAMPTZ '2023-11-14T22:13:20.000001Z'")
    expect(select).toContain('arg_max(struct_pack("population" := CAST("pop" AS BIGINT)), epoch_us(CAST("ts" AS TIMESTAMPTZ))::HUGEINT')
    expect(select).toContain('"zip_code" IS NOT NULL')
    expect(count).toContain('SELECT DISTINCT CAST("zip_code" AS BIGINT)')
  })
  it('splits the entities into partitions by key hash', () => {
    expect(pullLatestSql(request, 'r', { index: 2, of: 4 }).select).toContain('hash(CAST("zip_code" AS BIGINT)) % 4 = 2')
    expect(pullLatestSql(request, 'r', { index: 0, of: 1 }).select).not.toContain('hash(')
  })
})

describe('DuckDB column types', () => {
  it('map every Feast scalar and list type to a DuckDB type and back', () => {
    for (const [scalar, list] of Object.entries(LIST_OF)) {
      for (const vt of [Number(scalar), list]) {
        expect(duckdbTypeToValueType(valueTypeToDuckdbType(vt as ValueTypeCode))).toBe(vt)
      }
    }
    expect(valueTypeToDuckdbType(ValueType.UNIX_TIMESTAMP_LIST)).toBe('TIMESTAMPTZ[]')
    expect(duckdbTypeToValueType('STRUCT(a INTEGER)')).toBeNull()
    expect(duckdbTypeToValueType('BIGINT[][]')).toBeNull()
    const err = (() => {
      try {
        return valueTypeToDuckdbType(ValueType.NULL)
      } catch (e) {
        return e
      }
    })()
    expect(isMorselError(err, 'MORSEL_UNSUPPORTED')).toBe(true)
  })
})
