import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFINITIONS, ONLINE_STORE, T_CREDIT, T_ZIP, post, startTestServer, type TestServer } from '../support/server-harness.js'

const EPOCH = '1970-01-01T00:00:00Z'

describe(`POST /get-online-features over HTTP (${ONLINE_STORE})`, () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer()
  })
  afterAll(async () => s.close())

  it('answers Feast’s documented credit-scoring request with Feast’s column-major JSON', async () => {
    // The request of feast-internals §2.2 (Feast's feature server docs), sent as Feast's curl does.
    const res = await post(`${s.url}/get-online-features`, {
      features: ['zipcode_features:city', 'zipcode_features:population', 'credit_history:credit_card_due'],
      entities: { zipcode: [76104, 99999], dob_ssn: ['19630621_4278', '19630621_4278'] },
      full_feature_names: false,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    // Feast's answer field by field; zipcode 99999 is absent, which Morsel reports as NOT_FOUND
    // (Feast's Go and Java servers do; its Python+Redis path says PRESENT with a null).
    expect(res.body).toEqual({
      metadata: { feature_names: ['zipcode', 'dob_ssn', 'city', 'population', 'credit_card_due'] },
      results: [
        { values: [76104, 99999], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: ['19630621_4278', '19630621_4278'], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: ['FORT WORTH', null], statuses: ['PRESENT', 'NOT_FOUND'], event_timestamps: [T_ZIP, EPOCH] },
        { values: [54839, null], statuses: ['PRESENT', 'NOT_FOUND'], event_timestamps: [T_ZIP, EPOCH] },
        { values: [1795, 1795], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [T_CREDIT, T_CREDIT] },
      ],
    })
    // Byte for byte the shape Feast's converter writes: keys in this order, no spaces.
    expect(res.text.startsWith('{"metadata":{"feature_names":["zipcode","dob_ssn","city","population","credit_card_due"]},"results":[{"values":[76104,99999],"statuses":["PRESENT","PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"')).toBe(true)
  })

  it('takes a body without a content type, as Feast’s curl examples send it', async () => {
    const res = await fetch(`${s.url}/get-online-features`, {
      method: 'POST',
      body: '{"features":["zipcode_features:city"],"entities":{"zipcode":[76104]}}',
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { results: Array<{ values: unknown[] }> }).results[1]!.values).toEqual(['FORT WORTH'])
  })

  it('returns features in the order asked, across views', async () => {
    const res = await post(`${s.url}/get-online-features`, {
      features: ['credit_history:credit_card_due', 'zipcode_features:state', 'zipcode_features:city'],
      entities: { dob_ssn: ['19630621_4278'], zipcode: [76104] },
    })
    expect(res.status).toBe(200)
    expect(res.body.metadata.feature_names).toEqual(['dob_ssn', 'zipcode', 'credit_card_due', 'state', 'city'])
    expect(res.body.results.map((r: { values: unknown[] }) => r.values[0])).toEqual(['19630621_4278', 76104, 1795, 'TX', 'FORT WORTH'])
  })

  it('names features view__feature with full_feature_names', async () => {
    const res = await post(`${s.url}/get-online-features`, {
      features: ['zipcode_features:city', 'credit_history:credit_card_due'],
      entities: { zipcode: [76104], dob_ssn: ['19630621_4278'] },
      full_feature_names: true,
    })
    expect(res.body.metadata.feature_names).toEqual(['zipcode', 'dob_ssn', 'zipcode_features__city', 'credit_history__credit_card_due'])
  })

  it('serves a feature service, merging request_context into the on-demand features', async () => {
    const res = await post(`${s.url}/get-online-features`, {
      feature_service: 'credit_model_v1',
      entities: { zipcode: [76104], dob_ssn: ['19630621_4278'] },
      request_context: { loan_amnt: [5000], person_income: [50000] },
    })
    expect(res.status).toBe(200)
    expect(res.body.metadata.feature_names).toEqual(['zipcode', 'dob_ssn', 'loan_amnt', 'person_income', 'city', 'population', 'credit_card_due', 'loan_to_income', 'debt_to_income'])
    const byName: Record<string, { values: unknown[] }> = Object.fromEntries(res.body.metadata.feature_names.map((n: string, i: number): [string, { values: unknown[] }] => [n, res.body.results[i]]))
    expect(byName.loan_amnt).toEqual({ values: [5000], statuses: ['PRESENT'], event_timestamps: [EPOCH] })
    expect(byName.loan_to_income?.values).toEqual([0.1])
    expect(byName.debt_to_income?.values).toEqual([(1795 + 100_000) / 50_000])
  })

  it('accepts request data inside `entities`, as Feast does, and turns digit strings into Int64', async () => {
    const res = await post(`${s.url}/get-online-features`, {
      features: ['loan_ratios:loan_to_income'],
      entities: { dob_ssn: ['19630621_4278'], loan_amnt: ['1000'], person_income: [4000] },
    })
    expect(res.status).toBe(200)
    expect(res.body.results[3].values).toEqual([0.25])
  })

  it('reports NULL_VALUE, OUTSIDE_MAX_AGE and exact int64 numbers', async () => {
    const res = await post(`${s.url}/get-online-features`, {
      features: ['zipcode_features:city', 'zipcode_features:total_wages', 'credit_flags:missed_payments_1y'],
      entities: { zipcode: [10001], dob_ssn: ['19630621_4278'] },
      full_feature_names: true,
    })
    expect(res.status).toBe(200)
    const [, , city, wages, flags] = res.body.results
    expect(city).toEqual({ values: [null], statuses: ['NULL_VALUE'], event_timestamps: [T_ZIP] })
    expect(res.text).toContain('"values":[9007199254740991]')
    expect(wages.statuses).toEqual(['PRESENT'])
    // Older than the view's one-day ttl: withheld, with its event time.
    expect(flags).toEqual({ values: [null], statuses: ['OUTSIDE_MAX_AGE'], event_timestamps: [T_CREDIT] })
  })

  it('encodes bytes as base64, lists as arrays, timestamps as epoch seconds, booleans and doubles natively', async () => {
    const res = await post(`${s.url}/get-online-features`, { feature_service: 'profile_service', entities: { dob_ssn: ['19630621_4278'] } })
    expect(res.status).toBe(200)
    expect(res.body.metadata.feature_names).toEqual(['dob_ssn', 'photo', 'tags', 'last_login', 'score', 'active'])
    expect(res.body.results.slice(1).map((r: { values: unknown[] }) => r.values[0])).toEqual(['AQL/', ['a', 'b'], Date.parse('2024-01-01T00:00:00Z') / 1000, 0.5, true])
  })

  it('reads a repeated entity once and answers every row', async () => {
    const res = await post(`${s.url}/get-online-features`, {
      features: ['zipcode_features:city'],
      entities: { zipcode: [76104, 10001, 76104, 424242] },
    })
    expect(res.body.results[1]).toEqual({
      values: ['FORT WORTH', null, 'FORT WORTH', null],
      statuses: ['PRESENT', 'NULL_VALUE', 'PRESENT', 'NOT_FOUND'],
      event_timestamps: [T_ZIP, T_ZIP, T_ZIP, EPOCH],
    })
  })

  it('takes entity strings in any script, and int64 join keys as digit strings', async () => {
    await s.store.writeToOnlineStore('credit_history', {
      dob_ssn: ['ÿ日本_𝄞_😀'],
      event_timestamp: [T_CREDIT],
      credit_card_due: [7],
      mortgage_due: [8],
      missed_payments_1y: [9],
    })
    const res = await post(`${s.url}/get-online-features`, { features: ['credit_history:credit_card_due'], entities: { dob_ssn: ['ÿ日本_𝄞_😀'] } })
    expect(res.body.results[0].values).toEqual(['ÿ日本_𝄞_😀'])
    expect(res.body.results[1].values).toEqual([7])
    const big = await post(`${s.url}/get-online-features`, { features: ['zipcode_features:city'], entities: { zipcode: ['76104'] } })
    expect(big.status).toBe(200)
    expect(big.body.results[1].values).toEqual(['FORT WORTH'])
  })

  it('names an unknown feature with near matches (400) and answers 404 for an unknown feature service', async () => {
    const unknownFeature = await post(`${s.url}/get-online-features`, { features: ['zipcode_features:cty'], entities: { zipcode: [76104] } })
    expect(unknownFeature.status).toBe(400)
    expect(unknownFeature.body.error.code).toBe('MORSEL_FEATURE_NOT_FOUND')
    expect(unknownFeature.body.error.message).toContain("'cty'")
    expect(unknownFeature.body.error.message).toContain("Did you mean 'city'")
    const unknownView = await post(`${s.url}/get-online-features`, { features: ['zipcode_feature:city'], entities: { zipcode: [76104] } })
    expect(unknownView.status).toBe(400)
    expect(unknownView.body.error.message).toContain("Did you mean 'zipcode_features'")
    const unknownService = await post(`${s.url}/get-online-features`, { feature_service: 'credit_model_v2', entities: { zipcode: [76104] } })
    expect(unknownService.status).toBe(404)
    expect(unknownService.body.error).toEqual({ code: 'MORSEL_FEATURE_SERVICE_NOT_FOUND', message: expect.stringContaining("Did you mean 'credit_model_v1'") })
  })

  it('echoes a sane X-Request-Id and makes one up otherwise', async () => {
    const given = await post(`${s.url}/get-online-features`, { features: ['zipcode_features:city'], entities: { zipcode: [1] } }, { 'x-request-id': 'loan-app-42' })
    expect(given.headers.get('x-request-id')).toBe('loan-app-42')
    const made = await post(`${s.url}/get-online-features`, { features: ['zipcode_features:city'], entities: { zipcode: [1] } }, { 'x-request-id': 'bad id\twith spaces' })
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('picks up a new apply without a restart (background registry refresh)', async () => {
    const before = await post(`${s.url}/get-online-features`, { features: ['zipcode_features:tax_returns'], entities: { zipcode: [76104] } })
    expect(before.status).toBe(400)
    // Another process applies a new version of the repository: a feature added to zipcode_features.
    writeFileSync(join(s.repo, 'data/zipcode.csv'), 'event_timestamp,zipcode,city,state,population,total_wages,tax_returns\n2024-01-15T00:00:00Z,76104,FORT WORTH,TX,54839,1000,21000\n')
    writeFileSync(join(s.repo, 'features.ts'), DEFINITIONS.replace('total_wages: types.Int64 },', 'total_wages: types.Int64, tax_returns: types.Int64 },'))
    const { FeatureStore } = await import('../../src/index.js')
    const other = await FeatureStore.open(s.repo)
    try {
      await other.apply()
      // A later event time: an equal one would be skipped (newest event wins).
      await other.writeToOnlineStore('zipcode_features', [{ zipcode: 76104, event_timestamp: '2024-01-16T00:00:00Z', city: 'FORT WORTH', state: 'TX', population: 54839, total_wages: 1000, tax_returns: 21000 }])
    } finally {
      await other.close()
    }
    // cache_ttl_seconds is 1 in the test repository: the server sees the new version within seconds.
    let after = before
    for (let i = 0; i < 100 && after.status !== 200; i++) {
      await sleep(100)
      after = await post(`${s.url}/get-online-features`, { features: ['zipcode_features:tax_returns'], entities: { zipcode: [76104] } })
    }
    expect(after.status).toBe(200)
    expect(after.body.results[1].values).toEqual([21000])
  })
})
