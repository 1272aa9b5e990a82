import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { SHARED_CREDIT_DATA, requireSharedCreditData } from '../support/credit-scoring.js'
import { queryRows } from '../support/duckdb-files.js'
import { makeRepo, uniqueProject } from '../support/temp-repo.js'

/*
 * The credit-scoring tutorial's real tables through getHistoricalFeatures: 28,638 loans joined to
 * zipcode features (Parquet, ttl 3650 days) and credit history (CSV with naive microsecond
 * timestamps, ttl 90 days), checked row by row against a plain JavaScript join of the same files.
 */
const ZIPCODES = join(SHARED_CREDIT_DATA, 'zipcode_table.parquet')
const CREDIT = join(SHARED_CREDIT_DATA, 'credit_history_sample.csv')
const LOANS = join(SHARED_CREDIT_DATA, 'loan_table.parquet')

const ZIP_FEATURES = ['city', 'state', 'location_type', 'tax_returns_filed', 'population', 'total_wages'] as const
const CREDIT_FEATURES = ['credit_card_due', 'mortgage_due', 'student_loan_due', 'vehicle_loan_due', 'hard_pulls', 'missed_payments_2y', 'missed_payments_1y', 'missed_payments_6m', 'bankruptcies'] as const

const DEFINITIONS = `
import { Entity, FeatureView, FileSource, types } from 'morsel'

export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
export const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })

export const zipcodeFeatures = new FeatureView({
  name: 'zipcode_features', entities: [zipcode], ttl: { days: 3650 },
  source: new FileSource({ name: 'zipcode_source', path: ${JSON.stringify(ZIPCODES)}, timestampField: 'event_timestamp', createdTimestampColumn: 'created_timestamp' }),
  schema: { city: types.String, state: types.String, location_type: types.String, tax_returns_filed: types.Int64, population: types.Int64, total_wages: types.Int64 },
})

const creditSource = new FileSource({ name: 'credit_source', path: ${JSON.stringify(CREDIT)}, timestampField: 'event_timestamp', createdTimestampColumn: 'created_timestamp' })
const creditSchema = {
  credit_card_due: types.Int64, mortgage_due: types.Int64, student_loan_due: types.Int64, vehicle_loan_due: types.Int64,
  hard_pulls: types.Int64, missed_payments_2y: types.Int64, missed_payments_1y: types.Int64, missed_payments_6m: types.Int64, bankruptcies: types.Int64,
}
export const creditHistory = new FeatureView({ name: 'credit_history', entities: [dobSsn], ttl: { days: 90 }, source: creditSource, schema: creditSchema })
// The same rows without a ttl: the sample's single snapshot (2020-04-26) then reaches every later loan.
export const creditHistoryAll = new FeatureView({ name: 'credit_history_all', entities: [dobSsn], ttl: 0, source: creditSource, schema: creditSchema })
`

interface Timed {
  readonly ts: number
  readonly created: number | null
  readonly values: Record<string, unknown>
}

/** A plain JavaScript point-in-time lookup over rows grouped by key. */
function pick(rows: readonly Timed[] | undefined, t: number, ttlMicros: number): Record<string, unknown> | undefined {
  let best: Timed | undefined
  for (const r of rows ?? []) {
    if (r.ts > t || (ttlMicros > 0 && r.ts < t - ttlMicros)) continue
    if (best === undefined || r.ts > best.ts || (r.ts === best.ts && (r.created ?? -Infinity) > (best.created ?? -Infinity))) best = r
  }
  return best?.values
}

async function grouped(sql: string, key: string, features: readonly string[]): Promise<Map<string, Timed[]>> {
  const out = new Map<string, Timed[]>()
  for (const r of await queryRows(sql)) {
    const k = String(r[key])
    const values = Object.fromEntries(features.map((f) => [f, r[f] === null || r[f] === undefined ? null : typeof r[f] === 'string' && f !== 'city' && f !== 'state' && f !== 'location_type' ? Number(r[f]) : r[f]]))
    const list = out.get(k) ?? []
    list.push({ ts: Number(r.__ts), created: r.__created === null ? null : Number(r.__created), values })
    out.set(k, list)
  }
  return out
}

describe('the credit-scoring reference data through getHistoricalFeatures', () => {
  let store: FeatureStore

  beforeAll(async () => {
    requireSharedCreditData()
    const dir = makeRepo({ 'feature_store.yaml': `project: ${uniqueProject('credit')}\nregistry: data/registry.json\n`, 'features.ts': DEFINITIONS })
    store = await FeatureStore.open(dir)
    await store.apply()
  })
  afterAll(async () => store?.close())

  it('joins every loan to its zipcode and credit history as a reference join does, in loan order', async () => {
    const zip = await grouped(
      `SELECT zipcode, ${ZIP_FEATURES.join(', ')}, epoch_us(event_timestamp::TIMESTAMPTZ) AS __ts, epoch_us(created_timestamp::TIMESTAMPTZ) AS __created FROM '${ZIPCODES}'`,
      'zipcode',
      ZIP_FEATURES,
    )
    const credit = await grouped(
      `SELECT dob_ssn, ${CREDIT_FEATURES.join(', ')}, epoch_us(event_timestamp::TIMESTAMPTZ) AS __ts, epoch_us(created_timestamp::TIMESTAMPTZ) AS __created FROM read_csv('${CREDIT}', header = true)`,
      'dob_ssn',
      CREDIT_FEATURES,
    )
    const loans = await queryRows(`SELECT loan_id, zipcode, dob_ssn, epoch_us(event_timestamp::TIMESTAMPTZ) AS __ts FROM '${LOANS}'`)
    expect(loans).toHaveLength(28_638)

    const rows = await store
      .getHistoricalFeatures({
        entities: { path: LOANS },
        features: [...ZIP_FEATURES.map((f) => `zipcode_features:${f}`), ...CREDIT_FEATURES.map((f) => `credit_history:${f}`), 'credit_history_all:credit_card_due', 'credit_history_all:bankruptcies'],
        fullFeatureNames: true,
      })
      .toRows()
    expect(rows).toHaveLength(loans.length)

    const DAY = 86_400 * 1_000_000
    let zipMatches = 0
    let creditMatches = 0
    let allMatches = 0
    // Differences are collected and compared once: half a million expect() calls would be the slowest part of the test.
    const differences: string[] = []
    const same = (i: number, name: string, got: unknown, want: unknown): void => {
      if (got !== want && differences.length < 20) differences.push(`loan ${i} ${name}: got ${String(got)}, expected ${String(want)}`)
    }
    loans.forEach((loan, i) => {
      const row = rows[i]!
      same(i, 'loan_id', row.loan_id, Number(loan.loan_id))
      const t = Number(loan.__ts)
      const z = pick(zip.get(String(loan.zipcode)), t, 3650 * DAY)
      const c = pick(credit.get(String(loan.dob_ssn)), t, 90 * DAY)
      const all = pick(credit.get(String(loan.dob_ssn)), t, 0)
      for (const f of ZIP_FEATURES) same(i, f, row[`zipcode_features__${f}`], z?.[f] ?? null)
      for (const f of CREDIT_FEATURES) same(i, f, row[`credit_history__${f}`], c?.[f] ?? null)
      same(i, 'all credit_card_due', row.credit_history_all__credit_card_due, all?.credit_card_due ?? null)
      same(i, 'all bankruptcies', row.credit_history_all__bankruptcies, all?.bankruptcies ?? null)
      if (z !== undefined) zipMatches++
      if (c !== undefined) creditMatches++
      if (all !== undefined) allMatches++
    })
    expect(differences).toEqual([])
    // The data has enough matches for the comparison to mean something.
    expect(zipMatches).toBeGreaterThan(20_000)
    expect(allMatches).toBeGreaterThan(500)
    // The sample's snapshot is older than 90 days at every loan: the ttl leaves nothing.
    expect(creditMatches).toBe(0)
  }, 120_000)

  it('keeps the loan columns, typed, ahead of the features', async () => {
    const rows = await store
      .getHistoricalFeatures({ entities: { sql: `SELECT * FROM '${LOANS}' ORDER BY loan_id LIMIT 3` }, features: ['zipcode_features:city', 'credit_history_all:credit_card_due'] })
      .toRows()
    expect(Object.keys(rows[0]!)).toEqual([
      'loan_id', 'dob_ssn', 'zipcode', 'person_age', 'person_income', 'person_home_ownership', 'person_emp_length',
      'loan_intent', 'loan_amnt', 'loan_int_rate', 'loan_status', 'event_timestamp', 'created_timestamp', 'city', 'credit_card_due',
    ])
    expect(typeof rows[0]!.loan_id).toBe('number')
    expect(rows[0]!.event_timestamp).toBeInstanceOf(Date)
  })
})
