import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { Entity, FeatureService, FeatureView, FileSource, MorselClient, isMorselError, types } from '../../src/index.js'
import { startFeatureServer } from '../../src/server/start-feature-server.js'
import { FeatureStore } from '../../src/index.js'
import { ONLINE_STORE, makeTestRepo, startTestServer, writeSampleRows, type TestServer } from '../support/server-harness.js'
import { freePort, startRedisProcess } from '../support/redis-process.js'
import { uniqueProject } from '../support/temp-repo.js'

// The repository's `profile` view and service, as an application would import them.
const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })
const profile = new FeatureView({
  name: 'profile',
  entities: [dobSsn],
  source: new FileSource({ name: 'profile_source', path: 'data/profile.parquet', timestampField: 'event_timestamp' }),
  schema: { photo: types.Bytes, tags: types.Array(types.String), last_login: types.UnixTimestamp, score: types.Float64, active: types.Bool },
})
const profileService = new FeatureService({ name: 'profile_service', features: [profile] })

describe(`MorselClient against the server (${ONLINE_STORE})`, () => {
  let s: TestServer
  let client: MorselClient
  let connections = 0
  beforeAll(async () => {
    s = await startTestServer()
    s.app.server.on('connection', () => connections++)
    client = new MorselClient({ url: s.url })
  })
  afterAll(async () => {
    client.close()
    await s.close()
  })

  it('answers getOnlineFeatures exactly as the store in process does', async () => {
    const request = {
      features: ['zipcode_features:city', 'zipcode_features:population', 'credit_history:credit_card_due', 'credit_flags:missed_payments_1y', 'loan_ratios:loan_to_income'],
      entityRows: [
        { zipcode: 76104, dob_ssn: '19630621_4278', loan_amnt: 1000, person_income: 4000 },
        { zipcode: 99999, dob_ssn: 'nobody', loan_amnt: 1, person_income: 0 },
      ],
    }
    const local = await s.store.getOnlineFeatures(request)
    const remote = await client.getOnlineFeatures(request)
    expect(remote.featureNames).toEqual(local.featureNames)
    expect(remote.toRows()).toEqual(local.toRows())
    expect(remote.statuses).toEqual(local.statuses)
    expect(remote.eventTimes).toEqual(local.eventTimes)
    expect(remote.requestColumns).toBe(local.requestColumns)
    expect(remote.status('missed_payments_1y')).toBe('OUTSIDE_MAX_AGE')
    expect(remote.eventTime('city')).toEqual(new Date('2024-01-15T00:00:00Z'))
  })

  it('takes columns (`entities`) and full feature names as the store does', async () => {
    const res = await client.getOnlineFeatures({ features: ['zipcode_features:city'], entities: { zipcode: [76104, 10001] }, fullFeatureNames: true })
    expect(res.toDict()).toEqual({ zipcode: [76104, 10001], zipcode_features__city: ['FORT WORTH', null] })
    expect(res.status('zipcode_features__city', 1)).toBe('NULL_VALUE')
  })

  it('types the rows of a FeatureService object and turns base64 and epoch seconds back into bytes and Dates', async () => {
    const res = await client.getOnlineFeatures({ featureService: profileService, entityRows: [{ dob_ssn: '19630621_4278' }] })
    const row = res.toRows()[0]!
    // Compile-time: the row is typed by the service.
    const login: Date | null = row.last_login
    const photo: Uint8Array | null = row.photo
    const tags: string[] | null = row.tags
    expect(login).toEqual(new Date('2024-01-01T00:00:00Z'))
    expect(photo).toEqual(new Uint8Array([1, 2, 255]))
    expect(tags).toEqual(['a', 'b'])
    expect(row).toEqual((await s.store.getOnlineFeatures({ featureService: 'profile_service', entityRows: [{ dob_ssn: '19630621_4278' }] })).toRows()[0])
  })

  it('keeps one connection alive across sequential requests', async () => {
    const before = connections
    for (let i = 0; i < 20; i++) await client.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 76104 }] })
    expect(connections - before).toBeLessThanOrEqual(1)
  })

  it('turns server errors back into MorselErrors with the server’s code', async () => {
    const unknownService = await client.getOnlineFeatures({ featureService: 'credit_model_v9', entityRows: [{ zipcode: 1 }] }).catch((e: unknown) => e)
    expect(isMorselError(unknownService, 'MORSEL_FEATURE_SERVICE_NOT_FOUND')).toBe(true)
    expect((unknownService as Error).message).toContain("Did you mean 'credit_model_v1'")
    expect((unknownService as { details: { status: number } }).details.status).toBe(404)
    const badKey = await client.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 'x' }] }).catch((e: unknown) => e)
    expect(isMorselError(badKey, 'MORSEL_ENTITY_KEY_INVALID')).toBe(true)
  })

  it('pushes, writes and materializes', async () => {
    const pushed = await client.push('credit_history_push', [{ dob_ssn: 'client_push', event_timestamp: new Date(), credit_card_due: 5n, mortgage_due: 6, missed_payments_1y: 0 }])
    expect(pushed).toMatchObject({ pushSource: 'credit_history_push', rows: 1, to: 'online', offlineRows: 0 })
    expect((await client.getOnlineFeatures({ features: ['credit_history:credit_card_due'], entityRows: [{ dob_ssn: 'client_push' }] })).value('credit_card_due')).toBe(5)
    expect(await client.writeToOnlineStore('zipcode_features', { zipcode: [55555], event_timestamp: ['2024-01-01T00:00:00Z'], city: ['A'], state: ['B'], population: [1], total_wages: [2] })).toEqual({
      rows: 1,
      written: 1,
      skipped: 0,
    })
    const job = await client.materialize({ start: new Date('2023-12-01T00:00:00Z'), end: new Date('2024-02-01T00:00:00Z'), views: ['profile'], async: true })
    expect(job.status).toBe('accepted')
    let polled = await client.job(job.jobId)
    for (let i = 0; i < 200 && polled.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50))
      polled = await client.job(job.jobId)
    }
    expect(polled.status).toBe('succeeded')
    expect(await client.ready()).toBe(true)
  })

  it('sends the API key it is given', async () => {
    const secured = await startTestServer({ featureServer: '  auth:\n    type: api_key\n    api_keys:\n      - principal: app\n        key: client-test-key-0123456789' })
    try {
      const anonymous = new MorselClient(secured.url)
      const denied = await anonymous.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 76104 }] }).catch((e: unknown) => e)
      expect(isMorselError(denied, 'MORSEL_UNAUTHENTICATED')).toBe(true)
      anonymous.close()
      const keyed = new MorselClient({ url: secured.url, apiKey: 'client-test-key-0123456789' })
      expect((await keyed.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 76104 }] })).value('city')).toBe('FORT WORTH')
      keyed.close()
    } finally {
      await secured.close()
    }
  })
})

describe('MorselClient failures', () => {
  it('reports an unreachable server as MORSEL_STORE_UNAVAILABLE', async () => {
    const client = new MorselClient(`http://127.0.0.1:${await freePort()}`)
    const err = await client.getOnlineFeatures({ features: ['a:b'], entityRows: [{ k: 1 }] }).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain('ECONNREFUSED')
    client.close()
  })

  it('gives up at its deadline with MORSEL_TIMEOUT', async () => {
    const redis = await startRedisProcess()
    const repo = await makeTestRepo(uniqueProject('cli'), { onlineStore: `online_store:\n  type: redis\n  connection_string: "${redis.address}"\n  command_timeout_ms: 3000\n` })
    const setup = await FeatureStore.open(repo)
    await setup.apply()
    await writeSampleRows(setup)
    await setup.close()
    const server = await startFeatureServer({ repoPath: repo, port: 0, logger: pino({ level: 'silent' }), handleSignals: false })
    const client = new MorselClient({ url: server.urls.base, timeoutMs: 200 })
    try {
      await redis.command(['CLIENT', 'PAUSE', '1500', 'ALL'])
      const err = await client.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 76104 }] }).catch((e: unknown) => e)
      expect(isMorselError(err, 'MORSEL_TIMEOUT')).toBe(true)
      expect((err as Error).message).toContain('200 ms')
    } finally {
      client.close()
      await server.close()
      await redis.stop()
    }
  })

  it('refuses a URL it cannot use', () => {
    expect(() => new MorselClient('localhost:6566')).toThrow(/http:\/\/ or https:\/\//)
    expect(() => new MorselClient('not a url')).toThrow(/not a URL/)
  })
})
