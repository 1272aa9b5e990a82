import { request as httpRequest } from 'node:http'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ONLINE_STORE, get, post, startTestServer, type HttpAnswer, type TestServer } from '../support/server-harness.js'

const OK_ENTITIES = { zipcode: [76104] }

/** Sends raw bytes (no fetch normalisation), optionally chunked with no Content-Length. */
function rawPost(url: string, body: Buffer, chunked = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: chunked ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      },
    )
    req.on('error', reject)
    if (chunked) {
      for (let i = 0; i < body.length; i += 1000) req.write(body.subarray(i, i + 1000))
      req.end()
    } else req.end(body)
  })
}

function expectError(res: HttpAnswer, status: number, code: string, mentions?: string): void {
  expect(res.status, res.text).toBe(status)
  expect(Object.keys(res.body)).toEqual(['error'])
  expect(Object.keys(res.body.error).sort()).toEqual(['code', 'message'])
  expect(res.body.error.code).toBe(code)
  if (mentions !== undefined) expect(res.body.error.message).toContain(mentions)
}

describe(`bad input gets its documented 4xx (${ONLINE_STORE})`, () => {
  let s: TestServer
  let url: string
  beforeAll(async () => {
    s = await startTestServer({
      featureServer: '  limits:\n    max_body_bytes: 4096\n    max_entities_per_request: 10\n    max_rows_per_write: 5',
    })
    url = `${s.url}/get-online-features`
  })
  afterAll(async () => s.close())

  const cases: Array<[string, unknown, number, string, string?]> = [
    ['malformed JSON', '{"features": [', 400, 'MORSEL_REQUEST_INVALID', 'not valid JSON'],
    ['an empty body', '', 400, 'MORSEL_REQUEST_INVALID', 'empty'],
    ['NaN, which JSON does not have', '{"features": ["zipcode_features:city"], "entities": {"zipcode": [NaN]}}', 400, 'MORSEL_REQUEST_INVALID', 'not valid JSON'],
    ['a JSON array instead of an object', '[1, 2]', 400, 'MORSEL_REQUEST_INVALID', 'must be a JSON object'],
    ['`features` as a string', { features: 'zipcode_features:city', entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', '`features` must be a list'],
    ['a number among `features`', { features: ['zipcode_features:city', 7], entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', '`features[1]`'],
    ['both features and feature_service', { features: ['zipcode_features:city'], feature_service: 'zipcode_service', entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', 'not both'],
    ['neither features nor feature_service', { entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', 'No features requested'],
    ['an empty features list', { features: [], entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', 'No features requested'],
    ['feature_service as a number', { feature_service: 3, entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', '`feature_service`'],
    ['a feature reference without a view', { features: ['city'], entities: OK_ENTITIES }, 400, 'MORSEL_FEATURE_REF_INVALID'],
    ['a feature asked twice', { features: ['zipcode_features:city', 'zipcode_features:city'], entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', 'twice'],
    ['no entities', { features: ['zipcode_features:city'] }, 400, 'MORSEL_REQUEST_INVALID', '`entities` is missing'],
    ['entities as a list', { features: ['zipcode_features:city'], entities: [76104] }, 400, 'MORSEL_REQUEST_INVALID', '`entities` must be an object'],
    ['an entity column that is not a list', { features: ['zipcode_features:city'], entities: { zipcode: 76104 } }, 400, 'MORSEL_REQUEST_INVALID', '`entities`.zipcode must be a list'],
    ['empty entity lists', { features: ['zipcode_features:city'], entities: { zipcode: [] } }, 400, 'MORSEL_REQUEST_INVALID', 'no rows'],
    ['an empty entities object', { features: ['zipcode_features:city'], entities: {} }, 400, 'MORSEL_REQUEST_INVALID', 'empty'],
    ['columns of unequal length', { features: ['credit_history:credit_card_due', 'zipcode_features:city'], entities: { zipcode: [1, 2], dob_ssn: ['a'] } }, 400, 'MORSEL_REQUEST_INVALID', 'different lengths'],
    ['an unknown entity column', { features: ['zipcode_features:city'], entities: { zipcode: [1], zipcod: [1] } }, 400, 'MORSEL_REQUEST_INVALID', "'zipcod'"],
    ['a missing join key', { features: ['zipcode_features:city'], entities: { zip: [1] } }, 400, 'MORSEL_ENTITY_KEY_INVALID', "'zipcode'"],
    ['a string where the join key is Int64', { features: ['zipcode_features:city'], entities: { zipcode: ['abc'] } }, 400, 'MORSEL_ENTITY_KEY_INVALID', 'zipcode'],
    ['a fraction where the join key is Int64', { features: ['zipcode_features:city'], entities: { zipcode: [1.5] } }, 400, 'MORSEL_ENTITY_KEY_INVALID'],
    ['an int64 beyond 2^53 as a JSON number', '{"features": ["zipcode_features:city"], "entities": {"zipcode": [9007199254740993]}}', 400, 'MORSEL_ENTITY_KEY_INVALID', 'string of digits'],
    ['an object as a join key value', { features: ['zipcode_features:city'], entities: { zipcode: [{ a: 1 }] } }, 400, 'MORSEL_ENTITY_KEY_INVALID'],
    ['null as a join key value', { features: ['zipcode_features:city'], entities: { zipcode: [null] } }, 400, 'MORSEL_ENTITY_KEY_INVALID'],
    ['a number where the join key is a string', { features: ['credit_history:credit_card_due'], entities: { dob_ssn: [19630621] } }, 400, 'MORSEL_ENTITY_KEY_INVALID', 'send it as a string'],
    ['full_feature_names as a string', { features: ['zipcode_features:city'], entities: OK_ENTITIES, full_feature_names: 'yes' }, 400, 'MORSEL_REQUEST_INVALID', '`full_feature_names`'],
    ['request_context of another length', { feature_service: 'credit_model_v1', entities: { zipcode: [1], dob_ssn: ['a'] }, request_context: { loan_amnt: [1, 2], person_income: [1, 2] } }, 400, 'MORSEL_REQUEST_INVALID', '`request_context`'],
    ['request_context as a list', { feature_service: 'credit_model_v1', entities: { zipcode: [1], dob_ssn: ['a'] }, request_context: [1] }, 400, 'MORSEL_REQUEST_INVALID', '`request_context`'],
    ['request data of the wrong type', { feature_service: 'credit_model_v1', entities: { zipcode: [1], dob_ssn: ['a'] }, request_context: { loan_amnt: ['lots'], person_income: [1] } }, 400, 'MORSEL_VALUE_INVALID', "'loan_amnt'"],
    ['request data an on-demand view needs, missing', { feature_service: 'credit_model_v1', entities: { zipcode: [1], dob_ssn: ['a'] } }, 400, 'MORSEL_REQUEST_INVALID', "'loan_amnt'"],
    ['a column in both entities and request_context', { features: ['zipcode_features:city'], entities: { zipcode: [1] }, request_context: { zipcode: [1] } }, 400, 'MORSEL_REQUEST_INVALID', 'both'],
    ['an unknown top-level field', { feature: ['zipcode_features:city'], entities: OK_ENTITIES }, 400, 'MORSEL_REQUEST_INVALID', "Did you mean 'features'"],
    ['a `__proto__` key at the top', '{"__proto__": {"polluted": true}, "features": ["zipcode_features:city"], "entities": {"zipcode": [76104]}}', 400, 'MORSEL_REQUEST_INVALID', '__proto__'],
    ['a `__proto__` key among the entities', '{"features": ["zipcode_features:city"], "entities": {"zipcode": [76104], "__proto__": [1]}}', 400, 'MORSEL_REQUEST_INVALID', '__proto__'],
    ['a `__proto__` key spelled with escapes', '{"features": ["zipcode_features:city"], "entities": {"\\u005f\\u005fproto\\u005f\\u005f": {"x": 1}, "zipcode": [1]}}', 400, 'MORSEL_REQUEST_INVALID', '__proto__'],
    ['a `constructor` key', '{"features": ["zipcode_features:city"], "entities": {"zipcode": [76104], "constructor": {"prototype": {"x": 1}}}}', 400, 'MORSEL_REQUEST_INVALID', 'constructor'],
    ['nesting 100 levels deep', `{"features": ["zipcode_features:city"], "entities": {"zipcode": ${'['.repeat(100)}${']'.repeat(100)}}}`, 400, 'MORSEL_REQUEST_INVALID', 'nests deeper'],
    ['more entity rows than allowed', { features: ['zipcode_features:city'], entities: { zipcode: Array.from({ length: 11 }, (_, i) => i) } }, 413, 'MORSEL_PAYLOAD_TOO_LARGE', 'max_entities_per_request'],
  ]

  it.each(cases)('%s', async (_name, body, status, code, mentions) => {
    expectError(await post(url, body), status, code, mentions)
  })

  it('leaves Object.prototype alone after a `__proto__` body', async () => {
    await post(url, '{"__proto__": {"polluted": true}, "features": ["zipcode_features:city"], "entities": {"zipcode": [76104]}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses a body over the size limit with 413, with or without Content-Length', async () => {
    const huge = Buffer.from(JSON.stringify({ features: ['zipcode_features:city'], entities: { zipcode: Array.from({ length: 2000 }, (_, i) => i) } }))
    const declared = await rawPost(url, huge)
    expect(declared.status).toBe(413)
    expect(JSON.parse(declared.body)).toEqual({ error: { code: 'MORSEL_PAYLOAD_TOO_LARGE', message: expect.stringContaining('4096 bytes') } })
    const chunked = await rawPost(url, huge, true)
    expect(chunked.status).toBe(413)
    expect(JSON.parse(chunked.body).error.code).toBe('MORSEL_PAYLOAD_TOO_LARGE')
  })

  it('reads invalid UTF-8 as replacement characters, never crashing', async () => {
    const body = Buffer.concat([Buffer.from('{"features": ["credit_history:credit_card_due"], "entities": {"dob_ssn": ["'), Buffer.from([0xff, 0xfe]), Buffer.from('"]}}')])
    const res = await rawPost(url, body)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).results[1].statuses).toEqual(['NOT_FOUND'])
  })

  it('answers unknown endpoints and methods with a JSON 404', async () => {
    expectError(await post(`${s.url}/get-online-feature`, {}), 404, 'MORSEL_NOT_FOUND', '/get-online-features')
    expectError(await get(`${s.url}/get-online-features`), 404, 'MORSEL_NOT_FOUND')
  })

  it('checks /push, /write-to-online-store and /materialize bodies too', async () => {
    expectError(await post(`${s.url}/push`, { push_source_name: 'credit_history_pus', df: { dob_ssn: ['a'] } }), 404, 'MORSEL_NOT_FOUND', "Did you mean 'credit_history_push'")
    expectError(await post(`${s.url}/push`, { push_source_name: 'credit_history_push' }), 400, 'MORSEL_REQUEST_INVALID', '`df` is missing')
    expectError(await post(`${s.url}/push`, { push_source_name: 'zipcode_source', df: { zipcode: [1] } }), 400, 'MORSEL_REQUEST_INVALID', 'PushSource')
    expectError(await post(`${s.url}/push`, { push_source_name: 'credit_history_push', df: { dob_ssn: ['a'] }, to: 'disk' }), 400, 'MORSEL_REQUEST_INVALID', '`to`')
    expectError(
      await post(`${s.url}/push`, { push_source_name: 'credit_history_push', df: { dob_ssn: ['a'], event_timestamp: ['2024-01-01T00:00:00Z'], credit_card_due: [1], mortgage_due: [1], missed_payments_1y: [1], credit_card_debt: [1] } }),
      400,
      'MORSEL_REQUEST_INVALID',
      "'credit_card_debt'",
    )
    expectError(await post(`${s.url}/push`, { push_source_name: 'credit_history_push', df: { dob_ssn: ['a', 'b', 'c', 'd', 'e', 'f'] } }), 413, 'MORSEL_PAYLOAD_TOO_LARGE', 'max_rows_per_write')
    expectError(
      await post(`${s.url}/write-to-online-store`, { feature_view_name: 'credit_history', df: { dob_ssn: ['a'], event_timestamp: ['yesterday'], credit_card_due: [1], mortgage_due: [1], missed_payments_1y: [1] } }),
      400,
      'MORSEL_VALUE_INVALID',
      'event_timestamp',
    )
    expectError(await post(`${s.url}/write-to-online-store`, { feature_view_name: 'credit_histry', df: { dob_ssn: ['a'] } }), 400, 'MORSEL_FEATURE_NOT_FOUND', "Did you mean 'credit_history'")
    expectError(await post(`${s.url}/materialize`, { start_ts: 'last week', end_ts: '2024-01-01T00:00:00Z' }), 400, 'MORSEL_REQUEST_INVALID', '`start_ts`')
    expectError(await post(`${s.url}/materialize`, { start_ts: '2024-02-01T00:00:00Z', end_ts: '2024-01-01T00:00:00Z' }), 400, 'MORSEL_REQUEST_INVALID', 'before')
    expectError(await post(`${s.url}/materialize-incremental`, { end_ts: '2024-01-01T00:00:00Z', feature_views: 'credit_history' }), 400, 'MORSEL_REQUEST_INVALID', '`feature_views`')
    expectError(await post(`${s.url}/materialize?async=maybe`, { start_ts: '2024-01-01T00:00:00Z', end_ts: '2024-02-01T00:00:00Z' }), 400, 'MORSEL_REQUEST_INVALID', '`async`')
    expectError(await get(`${s.url}/materialize/jobs/nope`), 404, 'MORSEL_NOT_FOUND')
  })

  it('never answers 5xx to random bodies, and keeps serving (fast-check)', async () => {
    const featureRef = fc.constantFrom('zipcode_features:city', 'credit_history:credit_card_due', 'loan_ratios:loan_to_income', 'nope:x', 'zipcode_features:', ':', '')
    const value = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 }))
    const column = fc.array(value, { maxLength: 3 })
    const nearValid = fc.record(
      {
        features: fc.oneof(fc.array(featureRef, { maxLength: 3 }), value),
        feature_service: fc.oneof(fc.constantFrom('credit_model_v1', 'zipcode_service', 'x'), value),
        entities: fc.oneof(fc.dictionary(fc.constantFrom('zipcode', 'dob_ssn', 'loan_amnt', 'person_income', 'other', '__proto__', 'constructor'), column, { maxKeys: 4 }), value),
        request_context: fc.dictionary(fc.constantFrom('loan_amnt', 'person_income', 'zipcode'), column, { maxKeys: 2 }),
        full_feature_names: fc.oneof(fc.boolean(), value),
      },
      { requiredKeys: [] },
    )
    const body = fc.oneof(
      nearValid.map((b) => JSON.stringify(b)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 64 }),
    )
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const res = await post(url, text)
        expect([200, 400, 404, 413]).toContain(res.status)
        if (res.status !== 200) expect(typeof res.body?.error?.code).toBe('string')
      }),
      { numRuns: 300 },
    )
    expect((await get(`${s.url}/health`)).status).toBe(200)
    expect((await post(url, { features: ['zipcode_features:city'], entities: OK_ENTITIES })).body.results[1].values).toEqual(['FORT WORTH'])
  })
})
