import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore, isMorselError } from '../../src/index.js'
import { formatMicros } from '../../src/internal/time.js'
import { Micros, queryRows, writeTable, type TestColumn } from '../support/duckdb-files.js'
import { makeRepo, uniqueProject } from '../support/temp-repo.js'

/*
 * Point-in-time joins checked against an oracle: a plain JavaScript rendering of Feast's
 * semantics (feast-internals §6), independent of the SQL. For each view and entity row at time T:
 * the source rows with the same keys and T − ttl ≤ event time ≤ T (no lower bound when ttl is 0);
 * of those the greatest event time, ties to the greatest created time (a null created time loses);
 * none gives nulls. Every entity row is kept, in order.
 */

const HOUR = 3600 * 1_000_000
const BASE = Date.UTC(2024, 0, 1) * 1000

const DEFINITIONS = `
import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, RequestSource, types } from 'morsel'

export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })
export const customer = new Entity({ name: 'customer', joinKeys: ['customer_id'], valueType: types.String })

// No ttl; ties on event time broken by the created timestamp.
export const a = new FeatureView({
  name: 'a', entities: [driver], ttl: 0,
  source: new FileSource({ name: 'a_src', path: 'data/a.parquet', timestampField: 'event_ts', createdTimestampColumn: 'created_ts' }),
  schema: { a_int: types.Int64, a_str: types.String },
})

// A 3-hour ttl, no created timestamp.
export const b = new FeatureView({
  name: 'b', entities: [driver], ttl: { hours: 3 },
  source: new FileSource({ name: 'b_src', path: 'data/b.parquet', timestampField: 'event_ts' }),
  schema: { b_dbl: types.Float64 },
})

// Two join keys, a 5-hour ttl, and source columns named differently (field mapping).
export const c = new FeatureView({
  name: 'c', entities: [driver, customer], ttl: { hours: 5 },
  source: new FileSource({ name: 'c_src', path: 'data/c.parquet', timestampField: 'when', createdTimestampColumn: 'created', fieldMapping: { drv: 'driver_id', amt: 'amount' } }),
  schema: { amount: types.Int64 },
})

export const req = new RequestSource({ name: 'req', schema: { bonus: types.Int64 } })

export const plus = new OnDemandFeatureView({
  name: 'plus', sources: [a.select(['a_int']), req], schema: { a_plus: types.Int64, label: types.String },
  udf: (r) => ({ a_plus: r.a_int === null || r.bonus === null ? null : r.a_int + r.bonus, label: r.a_int === null ? 'none' : 'x' + r.a_int }),
})

export const svc = new FeatureService({ name: 'svc', features: [a.select(['a_int']), c, plus] })
`

interface ARow {
  readonly driver: number
  readonly ts: number | null
  readonly created: number | null
  readonly aInt: number | null
  readonly aStr: string | null
}
interface BRow {
  readonly driver: number
  readonly ts: number
  readonly bDbl: number | null
}
interface CRow {
  readonly driver: number
  readonly customer: string
  readonly ts: number
  readonly created: number | null
  readonly amount: number | null
}
interface EntityRow {
  readonly driver: number | null
  readonly customer: string
  readonly ts: number
}

const A_COLUMNS: TestColumn[] = [
  { name: 'driver_id', type: 'BIGINT' },
  { name: 'event_ts', type: 'TIMESTAMPTZ' },
  { name: 'created_ts', type: 'TIMESTAMPTZ' },
  { name: 'a_int', type: 'BIGINT' },
  { name: 'a_str', type: 'VARCHAR' },
]
const B_COLUMNS: TestColumn[] = [
  { name: 'driver_id', type: 'BIGINT' },
  // A naive timestamp: Feast and Morsel read it as UTC.
  { name: 'event_ts', type: 'TIMESTAMP' },
  { name: 'b_dbl', type: 'DOUBLE' },
]
const C_COLUMNS: TestColumn[] = [
  { name: 'drv', type: 'INTEGER' },
  { name: 'customer_id', type: 'VARCHAR' },
  { name: 'when', type: 'TIMESTAMPTZ' },
  { name: 'created', type: 'TIMESTAMPTZ' },
  { name: 'amt', type: 'BIGINT' },
]

const micros = (v: number | null): Micros | null => (v === null ? null : new Micros(v))

async function writeSources(dir: string, a: readonly ARow[], b: readonly BRow[], c: readonly CRow[]): Promise<void> {
  await writeTable(join(dir, 'data/a.parquet'), A_COLUMNS, a.map((r) => [r.driver, micros(r.ts), micros(r.created), r.aInt, r.aStr]))
  await writeTable(join(dir, 'data/b.parquet'), B_COLUMNS, b.map((r) => [r.driver, new Micros(r.ts), r.bDbl]))
  await writeTable(join(dir, 'data/c.parquet'), C_COLUMNS, c.map((r) => [r.driver, r.customer, new Micros(r.ts), micros(r.created), r.amount]))
}

/** The oracle: the row a view contributes to an entity row at time `t`, by Feast's rules. */
function latest<R extends { ts: number | null; created?: number | null }>(rows: readonly R[], matches: (r: R) => boolean, t: number, ttlMicros: number): R | undefined {
  let best: R | undefined
  for (const r of rows) {
    if (r.ts === null || !matches(r) || r.ts > t || (ttlMicros > 0 && r.ts < t - ttlMicros)) continue
    if (best === undefined || r.ts > (best.ts as number) || (r.ts === best.ts && (r.created ?? -Infinity) > (best.created ?? -Infinity))) best = r
  }
  return best
}

function expected(entities: readonly EntityRow[], a: readonly ARow[], b: readonly BRow[], c: readonly CRow[]): Array<Record<string, unknown>> {
  return entities.map((e) => {
    const ra = latest(a, (r) => r.driver === e.driver, e.ts, 0)
    const rb = latest(b, (r) => r.driver === e.driver, e.ts, 3 * HOUR)
    const rc = latest(c, (r) => r.driver === e.driver && r.customer === e.customer, e.ts, 5 * HOUR)
    return { a_int: ra?.aInt ?? null, a_str: ra?.aStr ?? null, b_dbl: rb?.bDbl ?? null, amount: rc?.amount ?? null }
  })
}

const FEATURES = ['a:a_int', 'a:a_str', 'b:b_dbl', 'c:amount']

function project(rows: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return rows.map((r) => ({ a_int: r.a_int, a_str: r.a_str, b_dbl: r.b_dbl, amount: r.amount }))
}

// Times on a half-hour grid, sometimes one microsecond off it: boundaries and ties happen often.
const time = fc.tuple(fc.integer({ min: 0, max: 16 }), fc.constantFrom(0, 0, 0, 1, -1)).map(([k, d]) => BASE + k * HOUR / 2 + d)
// View a's rows share few event times, so that ties decided by the created time are frequent.
const coarseTime = fc.integer({ min: 0, max: 6 }).map((k) => BASE + k * HOUR)
const created = fc.option(fc.integer({ min: 0, max: 4 }).map((j) => BASE + j * 60_000_000), { nil: null, freq: 4 })
const value = fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: null, freq: 5 })

const aRows = fc.uniqueArray(
  fc.record({ driver: fc.integer({ min: 1, max: 4 }), ts: fc.option(fc.oneof(coarseTime, time), { nil: null, freq: 12 }), created, aInt: value, aStr: fc.option(fc.string({ maxLength: 4 }), { nil: null, freq: 5 }) }),
  { maxLength: 40, selector: (r) => `${r.driver}|${r.ts}|${r.created}` },
)
const bRows = fc.uniqueArray(fc.record({ driver: fc.integer({ min: 1, max: 4 }), ts: time, bDbl: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { nil: null, freq: 5 }) }), {
  maxLength: 40,
  selector: (r) => `${r.driver}|${r.ts}`,
})
const cRows = fc.uniqueArray(fc.record({ driver: fc.integer({ min: 1, max: 4 }), customer: fc.constantFrom('x', 'y'), ts: time, created, amount: value }), {
  maxLength: 40,
  selector: (r) => `${r.driver}|${r.customer}|${r.ts}|${r.created}`,
})
const entityRows = fc.array(fc.record({ driver: fc.option(fc.integer({ min: 1, max: 5 }), { nil: null, freq: 15 }), customer: fc.constantFrom('x', 'y', 'z'), ts: time }), { minLength: 1, maxLength: 30 })

describe('point-in-time join (DuckDB) against a reference implementation', () => {
  let dir: string
  let store: FeatureStore

  beforeAll(async () => {
    dir = makeRepo({
      'feature_store.yaml': `project: ${uniqueProject('pit')}\nregistry: data/registry.json\nonline_store:\n  type: sqlite\n  path: data/online.db\n`,
      'features.ts': DEFINITIONS,
    })
    mkdirSync(join(dir, 'data'))
    await writeSources(dir, [], [], [])
    store = await FeatureStore.open(dir)
    await store.apply()
  })
  afterAll(async () => store?.close())

  async function join3(entities: readonly EntityRow[]): Promise<Array<Record<string, unknown>>> {
    return store
      .getHistoricalFeatures({
        entities: entities.map((e) => ({ driver_id: e.driver, customer_id: e.customer, event_timestamp: formatMicros(e.ts) })),
        features: FEATURES,
      })
      .toRows()
  }

  it('matches the reference on randomized data (ttl, ties, nulls, missing and duplicate entities)', async () => {
    await fc.assert(
      fc.asyncProperty(aRows, bRows, cRows, entityRows, async (a, b, c, entities) => {
        await writeSources(dir, a, b, c)
        const rows = await join3(entities)
        expect(rows.map((r) => [r.driver_id, r.customer_id])).toEqual(entities.map((e) => [e.driver, e.customer]))
        expect(project(rows)).toEqual(expected(entities, a, b, c))
      }),
      { numRuns: 60, seed: 20240101 },
    )
  }, 120_000)

  it('matches the reference when the entity rows come from a Parquet file, a CSV file and SQL', async () => {
    await fc.assert(
      fc.asyncProperty(aRows, bRows, cRows, entityRows, async (a, b, c, entities) => {
        await writeSources(dir, a, b, c)
        const cols: TestColumn[] = [
          { name: 'driver_id', type: 'BIGINT' },
          { name: 'customer_id', type: 'VARCHAR' },
          { name: 'event_timestamp', type: 'TIMESTAMPTZ' },
        ]
        const values = entities.map((e) => [e.driver, e.customer, new Micros(e.ts)])
        await writeTable(join(dir, 'data/entities.parquet'), cols, values)
        await writeTable(join(dir, 'data/entities.csv'), cols, values)
        const want = expected(entities, a, b, c)
        for (const input of [{ path: join(dir, 'data/entities.parquet') }, { path: join(dir, 'data/entities.csv') }, { sql: "SELECT * FROM read_parquet('data/entities.parquet')" }]) {
          const rows = await store.getHistoricalFeatures({ entities: input, features: FEATURES }).toRows()
          expect(rows.map((r) => r.driver_id)).toEqual(entities.map((e) => e.driver))
          expect(project(rows)).toEqual(want)
        }
      }),
      { numRuns: 15, seed: 7 },
    )
  }, 120_000)

  it('includes a row exactly ttl old and excludes one a microsecond older; includes a row at T, excludes one after', async () => {
    const t = BASE + 10 * HOUR
    await writeSources(
      dir,
      [],
      [
        { driver: 1, ts: t - 3 * HOUR, bDbl: 1 },
        { driver: 2, ts: t - 3 * HOUR - 1, bDbl: 2 },
        { driver: 3, ts: t, bDbl: 3 },
        { driver: 3, ts: t - HOUR, bDbl: 30 },
        { driver: 4, ts: t + 1, bDbl: 4 },
      ],
      [],
    )
    const rows = await join3([1, 2, 3, 4].map((driver) => ({ driver, customer: 'x', ts: t })))
    expect(rows.map((r) => r.b_dbl)).toEqual([1, null, 3, null])
  })

  it('has no lower bound when the ttl is 0', async () => {
    await writeSources(dir, [{ driver: 1, ts: BASE - 1000 * 24 * HOUR, created: null, aInt: 7, aStr: 'old' }], [], [])
    const rows = await join3([{ driver: 1, customer: 'x', ts: BASE }])
    expect(rows[0]).toMatchObject({ a_int: 7, a_str: 'old' })
  })

  it('breaks ties on event time by the created timestamp; a null created time loses', async () => {
    const t = BASE + HOUR
    await writeSources(
      dir,
      [
        { driver: 1, ts: t, created: BASE + 2, aInt: 1, aStr: 'earlier' },
        { driver: 1, ts: t, created: BASE + 3, aInt: 2, aStr: 'later' },
        { driver: 1, ts: t, created: null, aInt: 3, aStr: 'null' },
        { driver: 2, ts: t, created: null, aInt: 4, aStr: 'null' },
        { driver: 2, ts: t, created: BASE, aInt: 5, aStr: 'set' },
        // An older event with a later creation does not win over a newer event.
        { driver: 3, ts: t - 1, created: BASE + 100 * HOUR, aInt: 6, aStr: 'old event' },
        { driver: 3, ts: t, created: BASE, aInt: 7, aStr: 'new event' },
      ],
      [],
      [],
    )
    const rows = await join3([1, 2, 3].map((driver) => ({ driver, customer: 'x', ts: t })))
    expect(rows.map((r) => r.a_str)).toEqual(['later', 'set', 'new event'])
  })

  it('gives nulls for entities with no rows, and for rows without an event time', async () => {
    await writeSources(dir, [{ driver: 1, ts: null, created: null, aInt: 1, aStr: 'no time' }], [], [])
    const rows = await join3([
      { driver: 1, customer: 'x', ts: BASE },
      { driver: 99, customer: 'x', ts: BASE },
      { driver: null, customer: 'x', ts: BASE },
    ])
    expect(project(rows)).toEqual([0, 1, 2].map(() => ({ a_int: null, a_str: null, b_dbl: null, amount: null })))
  })

  it('keeps duplicate entity rows, each joined, in input order', async () => {
    await writeSources(dir, [{ driver: 1, ts: BASE, created: null, aInt: 1, aStr: 'one' }], [], [])
    const e = { driver: 1, customer: 'x', ts: BASE + HOUR }
    const rows = await join3([e, { driver: 2, customer: 'x', ts: BASE }, e, e])
    expect(rows.map((r) => r.a_int)).toEqual([1, null, 1, 1])
  })

  it('returns a null feature of the latest row as null, not an older value', async () => {
    await writeSources(
      dir,
      [
        { driver: 1, ts: BASE, created: null, aInt: 1, aStr: 'old' },
        { driver: 1, ts: BASE + HOUR, created: null, aInt: null, aStr: null },
      ],
      [],
      [],
    )
    expect(project(await join3([{ driver: 1, customer: 'x', ts: BASE + 2 * HOUR }]))[0]).toMatchObject({ a_int: null, a_str: null })
  })

  it('compares times as UTC instants whatever zone they are written in', async () => {
    const t = BASE + 12 * HOUR // 2024-01-01T12:00:00Z
    await writeSources(dir, [{ driver: 1, ts: t, created: null, aInt: 1, aStr: 'noon' }], [{ driver: 1, ts: t, bDbl: 0.5 }], [])
    const at = (event_timestamp: unknown): Record<string, unknown> => ({ driver_id: 1, customer_id: 'x', event_timestamp })
    const rows = await store
      .getHistoricalFeatures({
        entities: [
          at('2024-01-01T14:00:00+02:00'), // = 12:00Z: matches
          at('2024-01-01T13:59:59.999999+02:00'), // a microsecond before: no match
          at('2024-01-01 12:00:00'), // no zone: UTC
          at('2024-01-01T07:00:00-05:00'), // = 12:00Z
          at(new Date('2024-01-01T12:00:00Z')),
          at(Date.parse('2024-01-01T12:00:00Z') / 1000), // epoch seconds
          at(Date.parse('2024-01-01T11:59:59Z') / 1000),
        ],
        features: ['a:a_str', 'b:b_dbl'],
      })
      .toRows()
    expect(rows.map((r) => r.a_str)).toEqual(['noon', null, 'noon', 'noon', 'noon', 'noon', null])
    // The naive TIMESTAMP source column of view b is read as UTC too.
    expect(rows.map((r) => r.b_dbl)).toEqual([0.5, null, 0.5, 0.5, 0.5, 0.5, null])
    expect((rows[0]!.event_timestamp as Date).toISOString()).toBe('2024-01-01T12:00:00.000Z')
     const ms = await Promise.resolve()
      .then(() => store.getHistoricalFeatures({ entities: [at(Date.parse('2024-01-01T12:00:00Z'))], features: ['a:a_str'] }).toRows())
      .catch((e: unknown) => e)
    expect(isMorselError(ms, 'MORSEL_VALUE_INVALID')).toBe(true)
    expect((ms as Error).message).toContain('epoch seconds')
  })

  it('reads renamed source columns through the field mapping, with two join keys', async () => {
    await writeSources(dir, [], [], [
      { driver: 1, customer: 'x', ts: BASE, created: null, amount: 10 },
      { driver: 1, customer: 'y', ts: BASE, created: null, amount: 20 },
    ])
    const rows = await join3([
      { driver: 1, customer: 'y', ts: BASE + HOUR },
      { driver: 1, customer: 'x', ts: BASE + HOUR },
      { driver: 1, customer: 'z', ts: BASE + HOUR },
    ])
    expect(rows.map((r) => r.amount)).toEqual([20, 10, null])
    expect(Object.keys(rows[0]!)).toEqual(['driver_id', 'customer_id', 'event_timestamp', 'a_int', 'a_str', 'b_dbl', 'amount'])
  })

  it('keeps microseconds: a row a microsecond after the entity time is not seen', async () => {
    const t = BASE + 5
    await writeSources(dir, [{ driver: 1, ts: t, created: null, aInt: 1, aStr: 'at' }, { driver: 1, ts: t + 1, created: null, aInt: 2, aStr: 'after' }], [], [])
    const rows = await join3([{ driver: 1, customer: 'x', ts: t }, { driver: 1, customer: 'x', ts: t + 1 }])
    expect(rows.map((r) => r.a_str)).toEqual(['at', 'after'])
  })

  it('computes on-demand features on the result, named by a feature service, with full names', async () => {
    await writeSources(dir, [{ driver: 1, ts: BASE, created: null, aInt: 5, aStr: 's' }], [], [{ driver: 1, customer: 'x', ts: BASE, created: null, amount: 9 }])
    const job = store.getHistoricalFeatures({
      entities: [
        { driver_id: 1, customer_id: 'x', event_timestamp: BASE / 1_000_000 + 1, bonus: 10, label: 1 },
        { driver_id: 2, customer_id: 'x', event_timestamp: BASE / 1_000_000 + 1, bonus: 10, label: 0 },
      ],
      featureService: 'svc',
      fullFeatureNames: true,
    })
    const rows = await job.toRows()
    expect(rows).toEqual([
      { driver_id: 1, customer_id: 'x', event_timestamp: new Date(BASE / 1000 + 1000), bonus: 10, label: 1, a__a_int: 5, c__amount: 9, plus__a_plus: 15, plus__label: 'x5' },
      { driver_id: 2, customer_id: 'x', event_timestamp: new Date(BASE / 1000 + 1000), bonus: 10, label: 0, a__a_int: null, c__amount: null, plus__a_plus: null, plus__label: 'none' },
    ])
  })

  it('writes the same training set to Parquet and CSV, with on-demand features, and as Arrow', async () => {
    await writeSources(dir, [{ driver: 1, ts: BASE, created: null, aInt: 5, aStr: 's' }], [{ driver: 1, ts: BASE, bDbl: 1.5 }], [])
    const entities = Array.from({ length: 5000 }, (_, i) => ({ driver_id: (i % 3) + 1, customer_id: 'x', event_timestamp: new Date(BASE / 1000 + (i % 2) * 3600_000), bonus: i }))
    const job = store.getHistoricalFeatures({ entities, features: ['a:a_int', 'plus:a_plus', 'b:b_dbl', 'plus:label'] })
    const rows = await job.toRows()
    expect(rows).toHaveLength(5000)
    expect(rows[3]).toEqual({ driver_id: 1, customer_id: 'x', event_timestamp: new Date(BASE / 1000 + 3600_000), bonus: 3, a_int: 5, a_plus: 8, b_dbl: 1.5, label: 'x5' })

    expect(await job.toFile(join(dir, 'out/train.parquet'))).toEqual({ rows: 5000 })
    const fromParquet = await queryRows(`SELECT * FROM read_parquet('${join(dir, 'out/train.parquet')}')`)
    expect(fromParquet).toHaveLength(5000)
    expect(Object.keys(fromParquet[0]!)).toEqual(Object.keys(rows[0]!))
    fromParquet.forEach((r, i) => {
      expect(Number(r.bonus)).toBe(i)
      expect(r.a_plus === null ? null : Number(r.a_plus)).toBe(rows[i]!.a_plus)
      expect(r.label).toBe(rows[i]!.label)
    })

    expect(await job.toFile(join(dir, 'out/train.csv'))).toEqual({ rows: 5000 })
    const csvLines = readFileSync(join(dir, 'out/train.csv'), 'utf8').trim().split('\n')
    expect(csvLines[0]).toBe('driver_id,customer_id,event_timestamp,bonus,a_int,a_plus,b_dbl,label')
    expect(csvLines).toHaveLength(5001)

    const table = await job.toArrow()
    expect(table.numRows).toBe(5000)
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'driver_id:Int64',
      'customer_id:Utf8',
      'event_timestamp:Timestamp<MICROSECOND, UTC>',
      'bonus:Int64',
      'a_int:Int64',
      'a_plus:Int64',
      'b_dbl:Float64',
      'label:Utf8',
    ])
    expect(table.getChild('a_plus')!.get(3)).toBe(8n)
    expect(table.getChild('event_timestamp')!.get(3)).toBe(BASE / 1000 + 3600_000)
  })

  it('shows the SQL it runs: one ASOF join per view, sorted back into entity order', () => {
    const sql = store.getHistoricalFeatures({ entities: { path: 'data/entities.parquet' }, features: ['a:a_int', 'b:b_dbl'] }).toSql()
    expect(sql.match(/ASOF LEFT JOIN/g)).toHaveLength(2)
    expect(sql).toContain('ORDER BY e.__morsel_row')
    expect(sql).toContain('- 10800000000 THEN')
  })

  it('rejects entity rows without the timestamp or a join key, and names that collide', async () => {
    const fail = async (fn: () => Promise<unknown>): Promise<unknown> => {
      try {
        await fn()
        return undefined
      } catch (e) {
        return e
      }
    }
    const noTs = await fail(() => store.getHistoricalFeatures({ entities: [{ driver_id: 1 }], features: ['a:a_int'] }).toRows())
    expect(isMorselError(noTs, 'MORSEL_REQUEST_INVALID') && noTs.message).toContain("no 'event_timestamp' column")
    const noKey = await fail(() => store.getHistoricalFeatures({ entities: [{ driver: 1, event_timestamp: BASE / 1_000_000 }], features: ['a:a_int'] }).toRows())
    expect(isMorselError(noKey, 'MORSEL_ENTITY_KEY_INVALID') && noKey.message).toContain("'driver_id'")
    const collide = await fail(() => store.getHistoricalFeatures({ entities: [{ driver_id: 1, event_timestamp: BASE / 1_000_000, a_int: 3 }], features: ['a:a_int'] }).toRows())
    expect(isMorselError(collide, 'MORSEL_FEATURE_NAME_COLLISION')).toBe(true)
    expect(() => store.getHistoricalFeatures({ entities: [{ driver_id: 1, event_timestamp: 0 }], features: ['a:nope'] })).toThrow(/not in view 'a'/)
    const badKey = await fail(() => store.getHistoricalFeatures({ entities: [{ driver_id: 'one', event_timestamp: 0 }], features: ['a:a_int'] }).toRows())
    expect(isMorselError(badKey, 'MORSEL_ENTITY_KEY_INVALID')).toBe(true)
    const badTime = await fail(() => store.getHistoricalFeatures({ entities: [{ driver_id: 1, event_timestamp: 'yesterday' }], features: ['a:a_int'] }).toRows())
    expect(isMorselError(badTime, 'MORSEL_VALUE_INVALID')).toBe(true)
  })
})
