import { writeFileSync } from 'node:fs'
import { DuckDBInstance } from '@duckdb/node-api'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { FeatureStore, isMorselError } from '../../src/index.js'
import { csv, makeRepo } from '../support/temp-repo.js'

const DEFINITIONS = `
import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, RequestSource, types } from 'morsel'

export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
export const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })

export const zipcodeFeatures = new FeatureView({
  name: 'zipcode_features', entities: [zipcode], ttl: { days: 3650 },
  source: new FileSource({ name: 'zipcode_source', path: 'data/zipcodes.parquet', timestampField: 'event_timestamp' }),
  schema: { city: types.String, population: types.Int64, tags: types.Array(types.String) },
})

export const creditHistory = new FeatureView({
  name: 'credit_history', entities: [dobSsn], ttl: { days: 90 },
  source: new FileSource({ name: 'credit_source', path: 'data/credit.csv', timestampField: 'event_timestamp', fieldMapping: { cc_due: 'credit_card_due' } }),
  schema: { credit_card_due: types.Int64, bankruptcies: types.Int64 },
})

// A second view keyed by zipcode whose feature is also called 'city': a name collision.
export const census = new FeatureView({
  name: 'census', entities: [zipcode],
  source: new FileSource({ name: 'census_source', path: 'data/census.csv', timestampField: 'event_timestamp' }),
  schema: { city: types.String },
})

export const loanRequest = new RequestSource({ name: 'loan_request', schema: { person_income: types.Int64 } })

export const debtToIncome = new OnDemandFeatureView({
  name: 'debt_to_income', sources: [creditHistory, loanRequest], schema: { dti: types.Float64 },
  udf: (r) => ({ dti: r.credit_card_due === null || !r.person_income ? null : r.credit_card_due / r.person_income }),
})

export const model = new FeatureService({ name: 'credit_model', features: [zipcodeFeatures.select(['city']), creditHistory, debtToIncome] })
`

const T = '2024-01-15T00:00:00Z'
const T_MS = Date.parse(T)

async function repo(): Promise<string> {
  const dir = makeRepo({
    'feature_store.yaml': 'project: online_test\nregistry: data/registry.json\nonline_store:\n  type: sqlite\n  path: data/online.db\n',
    'features.ts': DEFINITIONS,
    'data/credit.csv': csv(['event_timestamp', 'dob_ssn', 'cc_due', 'bankruptcies'], [[T, '19630621_4278', 1795, 0]]),
    'data/census.csv': csv(['event_timestamp', 'zipcode', 'city'], [[T, 76104, 'Fort Worth']]),
  })
  // Lists need a typed format: the Parquet source is written by DuckDB.
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  await conn.run(
    `COPY (SELECT TIMESTAMPTZ '2024-01-15 00:00:00+00' AS event_timestamp, 76104::BIGINT AS zipcode, 'FORT WORTH' AS city, 54839::BIGINT AS population, ['metro', 'tx'] AS tags) TO '${join(dir, 'data/zipcodes.parquet')}' (FORMAT parquet)`,
  )
  conn.closeSync()
  db.closeSync()
  return dir
}

describe('FeatureStore online reads on SQLite', () => {
  let store: FeatureStore
  let dir: string

  beforeAll(async () => {
    dir = await repo()
    store = await FeatureStore.open(dir)
    await store.apply()
    await store.writeToOnlineStore('zipcode_features', [
      { zipcode: 76104, event_timestamp: T, city: 'FORT WORTH', population: 54839, tags: ['metro', 'tx'] },
      { zipcode: 10001, event_timestamp: T, city: null, population: 21102, tags: [] },
    ])
    await store.writeToOnlineStore('credit_history', { dob_ssn: ['19630621_4278'], event_timestamp: [new Date(T_MS)], cc_due: [1795], bankruptcies: [0] })
  })
  afterAll(async () => store.close())
  afterEach(() => {
    vi.useRealTimers()
  })

  const at = (ms: number): void => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(ms)
  }

  it('serves values with PRESENT, NULL_VALUE and NOT_FOUND, rows in request order', async () => {
    at(T_MS + 86_400_000)
    const r = await store.getOnlineFeatures({
      features: ['zipcode_features:city', 'zipcode_features:population', 'zipcode_features:tags'],
      entityRows: [{ zipcode: 10001 }, { zipcode: 99999 }, { zipcode: 76104 }],
    })
    expect(r.featureNames).toEqual(['zipcode', 'city', 'population', 'tags'])
    expect(r.toRows()).toEqual([
      { zipcode: 10001, city: null, population: 21102, tags: [] },
      { zipcode: 99999, city: null, population: null, tags: null },
      { zipcode: 76104, city: 'FORT WORTH', population: 54839, tags: ['metro', 'tx'] },
    ])
    expect([r.status('city', 0), r.status('population', 0), r.status('city', 1), r.status('city', 2)]).toEqual(['NULL_VALUE', 'PRESENT', 'NOT_FOUND', 'PRESENT'])
    expect(r.eventTime('city', 2)?.toISOString()).toBe('2024-01-15T00:00:00.000Z')
    expect(r.eventTime('city', 1)).toBeNull()
    expect(r.status('zipcode', 1)).toBe('PRESENT')
  })

  it('enforces the ttl on every read: PRESENT at exactly the ttl, OUTSIDE_MAX_AGE just past it', async () => {
    const ttlMs = 90 * 86_400_000
    const ask = () => store.getOnlineFeatures({ features: ['credit_history:credit_card_due'], entityRows: [{ dob_ssn: '19630621_4278' }] })
    at(T_MS + ttlMs)
    const fresh = await ask()
    expect(fresh.status('credit_card_due')).toBe('PRESENT')
    expect(fresh.value('credit_card_due')).toBe(1795)
    at(T_MS + ttlMs + 1)
    const stale = await ask()
    expect(stale.status('credit_card_due')).toBe('OUTSIDE_MAX_AGE')
    // The stale value is withheld, but its age stays visible.
    expect(stale.value('credit_card_due')).toBeNull()
    expect(stale.eventTime('credit_card_due')?.getTime()).toBe(T_MS)
  })

  it('computes on-demand features from stored features and request data', async () => {
    at(T_MS + 86_400_000)
    const r = await store.getOnlineFeatures({
      features: ['debt_to_income:dti', 'zipcode_features:city'],
      entityRows: [
        { dob_ssn: '19630621_4278', zipcode: 76104, person_income: 59000 },
        { dob_ssn: 'unknown', zipcode: 76104, person_income: 1000 },
      ],
    })
    expect(r.featureNames).toEqual(['dob_ssn', 'zipcode', 'person_income', 'dti', 'city'])
    expect(r.value('dti', 0)).toBeCloseTo(1795 / 59000, 12)
    expect(r.status('dti', 0)).toBe('PRESENT')
    expect(r.value('dti', 1)).toBeNull()
    expect(r.status('dti', 1)).toBe('NULL_VALUE')
    // The on-demand view's input was read but not asked for, so it is not in the response.
    expect(r.featureNames).not.toContain('credit_card_due')
  })

  it('serves a feature service, typed, and reads duplicate entities once per entity', async () => {
    at(T_MS + 86_400_000)
    const r = await store.getOnlineFeatures({
      featureService: 'credit_model',
      entityRows: [
        { zipcode: 76104, dob_ssn: '19630621_4278', person_income: 59000 },
        { zipcode: 76104, dob_ssn: '19630621_4278', person_income: 59000 },
      ],
    })
    expect(r.featureNames).toEqual(['zipcode', 'dob_ssn', 'person_income', 'city', 'credit_card_due', 'bankruptcies', 'dti'])
    expect(r.toRows()[0]).toEqual(r.toRows()[1])
    expect(r.value('credit_card_due', 1)).toBe(1795)
  })

  it('names a feature collision and resolves it with full feature names', async () => {
    const err = await store
      .getOnlineFeatures({ features: ['zipcode_features:city', 'census:city'], entityRows: [{ zipcode: 76104 }] })
      .catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_FEATURE_NAME_COLLISION')).toBe(true)
    expect((err as Error).message).toMatch(/'city'.*'census'.*'zipcode_features'|'city'.*'zipcode_features'.*'census'/)
    const r = await store.getOnlineFeatures({ features: ['zipcode_features:city', 'census:city'], entityRows: [{ zipcode: 76104 }], fullFeatureNames: true })
    expect(r.featureNames).toEqual(['zipcode', 'zipcode_features__city', 'census__city'])
  })

  it('rejects bad requests with a code naming the problem', async () => {
    const cases: Array<[Parameters<FeatureStore['getOnlineFeatures']>[0], string, RegExp]> = [
      [{ features: ['zipcode_features:citty'], entityRows: [{ zipcode: 1 }] }, 'MORSEL_FEATURE_NOT_FOUND', /Did you mean 'city'/],
      [{ features: ['zipcode_featurez:city'], entityRows: [{ zipcode: 1 }] }, 'MORSEL_FEATURE_NOT_FOUND', /Did you mean 'zipcode_features'/],
      [{ featureService: 'credit_modl', entityRows: [{ zipcode: 1 }] }, 'MORSEL_FEATURE_SERVICE_NOT_FOUND', /Did you mean 'credit_model'/],
      [{ features: ['zipcode_features:city'], entityRows: [{ zipcod: 1 }] }, 'MORSEL_ENTITY_KEY_INVALID', /join key 'zipcode'.*Did you mean 'zipcod'/],
      [{ features: ['zipcode_features:city'], entityRows: [{ zipcode: 1, extra: 2 }] }, 'MORSEL_REQUEST_INVALID', /Column 'extra'/],
      [{ features: ['zipcode_features:city'], entityRows: [{ zipcode: 'abc' }] }, 'MORSEL_ENTITY_KEY_INVALID', /zipcode/],
      [{ features: ['zipcode_features:city'], entityRows: [] }, 'MORSEL_REQUEST_INVALID', /non-empty/],
      [{ features: ['debt_to_income:dti'], entityRows: [{ dob_ssn: 'x' }] }, 'MORSEL_REQUEST_INVALID', /request field 'person_income'/],
      [{ features: [], entityRows: [{ zipcode: 1 }] }, 'MORSEL_REQUEST_INVALID', /No features requested/],
      [{ features: ['city'], entityRows: [{ zipcode: 1 }] }, 'MORSEL_FEATURE_REF_INVALID', /view:feature/],
    ]
    for (const [request, code, message] of cases) {
      const err = await store.getOnlineFeatures(request).catch((e: unknown) => e)
      expect(isMorselError(err, code as never), `${JSON.stringify(request)} → ${String(err)}`).toBe(true)
      expect((err as Error).message).toMatch(message)
    }
  })

  it('skips older writes and validates written rows before writing any', async () => {
    const older = await store.writeToOnlineStore('zipcode_features', [
      { zipcode: 76104, event_timestamp: '2023-01-01T00:00:00Z', city: 'OLD', population: 1, tags: [] },
    ])
    expect(older).toEqual({ rows: 1, written: 0, skipped: 1 })
    const err = await store
      .writeToOnlineStore('zipcode_features', [
        { zipcode: 555, event_timestamp: T, city: 'fine', population: 1, tags: [] },
        { zipcode: 556, event_timestamp: T, city: 'bad', population: 'many', tags: [] },
      ])
      .catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_VALUE_INVALID')).toBe(true)
    expect((err as Error).message).toContain('zipcode_features:population')
    const r = await store.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 555 }] })
    expect(r.status('city')).toBe('NOT_FOUND')
    const missing = await store.writeToOnlineStore('zipcode_features', [{ zipcode: 1, event_timestamp: T, city: 'x' }]).catch((e: unknown) => e)
    expect((missing as Error).message).toMatch(/lack the feature columns population, tags/)
  })

  it('reads each distinct entity once and gives repeated entities, in any order, the same values as unique ones', async () => {
    at(T_MS + 86_400_000)
    const real = await store.onlineStore()
    const keysRead: number[] = []
    const counting = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'read') {
          return async (...args: Parameters<typeof real.read>) => {
            for (const group of args[1]) keysRead.push(group.length)
            return target.read(...args)
          }
        }
        // The store belongs to the outer FeatureStore, which closes it.
        if (prop === 'close') return async () => {}
        return Reflect.get(target, prop, receiver) as unknown
      },
    })
    const counted = await FeatureStore.open({ repoPath: dir, onlineStore: counting })
    try {
      const features = ['zipcode_features:city', 'zipcode_features:population', 'zipcode_features:tags', 'credit_history:credit_card_due']
      const zips = [76104, 10001, 99999]
      const ssns = ['19630621_4278', 'nobody']
      const single = await Promise.all(
        zips.flatMap((zipcode) => ssns.map(async (dob_ssn) => (await counted.getOnlineFeatures({ features, entityRows: [{ zipcode, dob_ssn }] })).toRows()[0])),
      )
      const expected = (zipcode: number, dob_ssn: string) => single[zips.indexOf(zipcode) * ssns.length + ssns.indexOf(dob_ssn)]
      // Repeats interleaved so that later rows point back to earlier entities and the other way round.
      const order: Array<[number, string]> = [
        [99999, 'nobody'], [76104, '19630621_4278'], [99999, '19630621_4278'], [10001, 'nobody'], [76104, 'nobody'],
        [76104, '19630621_4278'], [10001, '19630621_4278'], [99999, 'nobody'], [76104, '19630621_4278'], [10001, 'nobody'],
      ]
      keysRead.length = 0
      const r = await counted.getOnlineFeatures({ features, entityRows: order.map(([zipcode, dob_ssn]) => ({ zipcode, dob_ssn })) })
      expect(r.toRows()).toEqual(order.map(([zipcode, dob_ssn]) => expected(zipcode, dob_ssn)))
      expect(order.map((_, i) => r.status('credit_card_due', i))).toEqual(order.map(([, s]) => (s === 'nobody' ? 'NOT_FOUND' : 'PRESENT')))
      expect(order.map((_, i) => r.eventTime('city', i))).toEqual(order.map(([z]) => (z === 99999 ? null : new Date(T_MS))))
      // One key per distinct zipcode (3) and per distinct dob_ssn (2), not one per row.
      expect(keysRead.sort()).toEqual([2, 3])
    } finally {
      await counted.close()
    }
  })

  it('takes a bare-number event time as epoch seconds and refuses one in milliseconds', async () => {
    at(T_MS + 86_400_000)
    const row = { zipcode: 4242, city: 'Secondsville', population: 1, tags: [] }
    const err = await store.writeToOnlineStore('zipcode_features', [{ ...row, event_timestamp: T_MS }]).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_VALUE_INVALID')).toBe(true)
    expect((err as Error).message).toMatch(/'event_timestamp' is 1705276800000, .*epoch seconds.*divide by 1000 or pass a Date/)
    await store.writeToOnlineStore('zipcode_features', [{ ...row, event_timestamp: T_MS / 1000 + 0.5 }])
    const r = await store.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 4242 }] })
    expect(r.value('city')).toBe('Secondsville')
    expect(r.eventTime('city')).toEqual(new Date(T_MS + 500))
  })

  it('compiles a feature set once per registry version and picks up a new apply', async () => {
    const snap = await store.registry.snapshot()
    const request = { features: ['zipcode_features:city'], entityRows: [{ zipcode: 76104 }] }
    expect(store.planFor(snap, request)).toBe(store.planFor(snap, request))
    writeFileSync(join(dir, 'features.ts'), DEFINITIONS.replace("ttl: { days: 90 }", 'ttl: { days: 30 }'))
    const result = await store.apply()
    expect(result.plan.items.find((i) => i.name === 'credit_history')?.changes).toEqual(['ttlSeconds: 7776000 → 2592000'])
    const next = await store.registry.snapshot()
    expect(next.version).toBe(snap.version + 1)
    expect(store.planFor(next, request)).not.toBe(store.planFor(snap, request))
    at(T_MS + 31 * 86_400_000)
    const r = await store.getOnlineFeatures({ features: ['credit_history:credit_card_due'], entityRows: [{ dob_ssn: '19630621_4278' }] })
    expect(r.status('credit_card_due')).toBe('OUTSIDE_MAX_AGE')
  })
})
