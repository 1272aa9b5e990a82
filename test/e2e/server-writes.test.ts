import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { MaterializeJobs } from '../../src/server/materialize-jobs.js'
import { startFeatureServer } from '../../src/server/start-feature-server.js'
import { ONLINE_STORE, get, makeTestRepo, post, startTestServer, type TestServer } from '../support/server-harness.js'
import { startRedisProcess } from '../support/redis-process.js'
import { uniqueProject } from '../support/temp-repo.js'

const DOB = '19500101_0001'

async function readCredit(s: TestServer, dob = DOB): Promise<{ due: unknown; flags: unknown; status: string; time: string }> {
  const res = await post(`${s.url}/get-online-features`, {
    features: ['credit_history:credit_card_due', 'credit_flags:missed_payments_1y'],
    entities: { dob_ssn: [dob] },
    full_feature_names: true,
  })
  return { due: res.body.results[1].values[0], flags: res.body.results[2].values[0], status: res.body.results[1].statuses[0], time: res.body.results[1].event_timestamps[0] }
}

describe(`POST /push, /write-to-online-store, /materialize (${ONLINE_STORE})`, () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer()
  })
  afterAll(async () => s.close())

  it('pushes online to every view fed by the push source; the newest event time wins', async () => {
    const now = new Date()
    const first = await post(`${s.url}/push`, {
      push_source_name: 'credit_history_push',
      df: { dob_ssn: [DOB], event_timestamp: [now.toISOString()], credit_card_due: [100], mortgage_due: [200], missed_payments_1y: [1] },
      to: 'online',
    })
    expect(first.status, first.text).toBe(200)
    expect(first.body).toEqual({
      push_source_name: 'credit_history_push',
      to: 'online',
      rows: 1,
      feature_views: expect.arrayContaining([
        { name: 'credit_history', written: 1, skipped: 0 },
        { name: 'credit_flags', written: 1, skipped: 0 },
      ]),
      offline_rows: 0,
    })
    expect(await readCredit(s)).toMatchObject({ due: 100, flags: 1, status: 'PRESENT' })

    // An older event for the same entity is skipped; a newer one replaces.
    const older = await post(`${s.url}/push`, {
      push_source_name: 'credit_history_push',
      df: { dob_ssn: [DOB], event_timestamp: [new Date(now.getTime() - 60_000).toISOString()], credit_card_due: [1], mortgage_due: [1], missed_payments_1y: [9] },
    })
    expect(older.body.feature_views.every((v: { skipped: number }) => v.skipped === 1)).toBe(true)
    expect((await readCredit(s)).due).toBe(100)
    // Feast's timestamp form "YYYY-MM-DD HH:MM:SS+00:00" works too.
    const later = new Date(now.getTime() + 60_000)
    const feastTime = later.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '+00:00')
    const newer = await post(`${s.url}/push`, {
      push_source_name: 'credit_history_push',
      df: { dob_ssn: [DOB], event_timestamp: [feastTime], credit_card_due: [300], mortgage_due: [1], missed_payments_1y: [2] },
    })
    expect(newer.status, newer.text).toBe(200)
    expect(await readCredit(s)).toMatchObject({ due: 300, flags: 2 })
  })

  it('pushes offline (appending to the batch source) and to both', async () => {
    const csvPath = join(s.repo, 'data/credit_history.csv')
    const before = readFileSync(csvPath, 'utf8')
    const offline = await post(`${s.url}/push`, {
      push_source_name: 'credit_history_push',
      df: { dob_ssn: ['offline_only'], event_timestamp: ['2024-05-01T00:00:00Z'], credit_card_due: [11], mortgage_due: [12], missed_payments_1y: [13] },
      to: 'offline',
    })
    expect(offline.status, offline.text).toBe(200)
    expect(offline.body).toMatchObject({ to: 'offline', feature_views: [], offline_rows: 1 })
    expect(readFileSync(csvPath, 'utf8')).toContain('offline_only')
    expect((await readCredit(s, 'offline_only')).status).toBe('NOT_FOUND')

    const both = await post(`${s.url}/push`, {
      push_source_name: 'credit_history_push',
      df: { dob_ssn: ['both_ways'], event_timestamp: ['2024-05-02T00:00:00Z'], credit_card_due: [21], mortgage_due: [22], missed_payments_1y: [23] },
      to: 'online_and_offline',
    })
    expect(both.status, both.text).toBe(200)
    expect(both.body).toMatchObject({ to: 'both', offline_rows: 1 })
    expect(readFileSync(csvPath, 'utf8')).toContain('both_ways')
    expect((await readCredit(s, 'both_ways')).due).toBe(21)
    expect(readFileSync(csvPath, 'utf8').length).toBeGreaterThan(before.length)
  })

  it('writes nothing when one row of a push is bad', async () => {
    const res = await post(`${s.url}/push`, {
      push_source_name: 'credit_history_push',
      df: { dob_ssn: ['atomic_a', 'atomic_b'], event_timestamp: ['2024-05-01T00:00:00Z', '2024-05-01T00:00:00Z'], credit_card_due: [1, 'x'], mortgage_due: [1, 1], missed_payments_1y: [1, 1] },
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('MORSEL_VALUE_INVALID')
    expect((await readCredit(s, 'atomic_a')).status).toBe('NOT_FOUND')
  })

  it('writes rows of one view with /write-to-online-store (Feast’s request)', async () => {
    const res = await post(`${s.url}/write-to-online-store`, {
      feature_view_name: 'zipcode_features',
      df: { zipcode: [94103, 94104], event_timestamp: ['2024-02-01T00:00:00Z', '2024-02-01T00:00:00Z'], city: ['SAN FRANCISCO', 'SAN FRANCISCO'], state: ['CA', 'CA'], population: [1, 2], total_wages: [3, 4] },
      allow_registry_cache: true,
    })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toEqual({ feature_view_name: 'zipcode_features', rows: 2, written: 2, skipped: 0 })
    const read = await post(`${s.url}/get-online-features`, { features: ['zipcode_features:population'], entities: { zipcode: [94104] } })
    expect(read.body.results[1].values).toEqual([2])
  })

  it('materializes synchronously and answers with the finished job', async () => {
    const res = await post(`${s.url}/materialize`, { start_ts: '2023-12-01T00:00:00Z', end_ts: '2024-02-01T00:00:00Z', feature_views: ['profile'] })
    expect(res.status, res.text).toBe(200)
    expect(res.body).toMatchObject({ status: 'succeeded', kind: 'materialize', feature_views: ['profile'], error: null })
    expect(res.body.result.feature_views).toEqual([
      expect.objectContaining({ name: 'profile', start: '2023-12-01T00:00:00.000Z', end: '2024-02-01T00:00:00.000Z', rows: 1 }),
    ])
    expect(res.body.result.feature_views[0].written + res.body.result.feature_views[0].skipped).toBe(1)
  })

  it('materializes in the background with ?async=true, pollable by job id', async () => {
    const res = await post(`${s.url}/materialize-incremental?async=true`, { end_ts: new Date().toISOString(), feature_views: ['profile'] })
    expect(res.status, res.text).toBe(202)
    expect(res.body).toMatchObject({ status: 'accepted', feature_views: ['profile'], poll: `/materialize/jobs/${res.body.job_id}` })
    let job = (await get(`${s.url}${res.body.poll}`)).body
    for (let i = 0; i < 200 && job.status === 'running'; i++) {
      await sleep(50)
      job = (await get(`${s.url}${res.body.poll}`)).body
    }
    expect(job).toMatchObject({ job_id: res.body.job_id, kind: 'materialize-incremental', status: 'succeeded' })
    const list = await get(`${s.url}/materialize/jobs`)
    expect(list.body.jobs.map((j: { job_id: string }) => j.job_id)).toContain(res.body.job_id)
  })

})

describe('a materialization already running', () => {
  it('answers 409 to a second run over the same view', async () => {
    const redis = await startRedisProcess()
    const repo = await makeTestRepo(uniqueProject('busy'), { onlineStore: `online_store:\n  type: redis\n  connection_string: "${redis.address}"\n  command_timeout_ms: 5000\n` })
    const setup = await FeatureStore.open(repo)
    await setup.apply()
    await setup.close()
    const server = await startFeatureServer({ repoPath: repo, port: 0, logger: pino({ level: 'silent' }), handleSignals: false })
    try {
      // Redis holds every command: the first run cannot finish while the second is asked for.
      await redis.command(['CLIENT', 'PAUSE', '1500', 'ALL'])
      const first = await post(`${server.urls.base}/materialize?async=true`, { start_ts: '2023-12-01T00:00:00Z', end_ts: '2024-02-01T00:00:00Z', feature_views: ['profile'] })
      expect(first.status).toBe(202)
      const second = await post(`${server.urls.base}/materialize`, { start_ts: '2023-12-01T00:00:00Z', end_ts: '2024-02-01T00:00:00Z', feature_views: ['profile', 'zipcode_features'] })
      expect(second.status).toBe(409)
      expect(second.body.error.code).toBe('MORSEL_BUSY')
      expect(second.body.error.message).toContain("'profile'")
      let job = (await get(`${server.urls.base}${first.body.poll}`)).body
      for (let i = 0; i < 200 && job.status === 'running'; i++) {
        await sleep(50)
        job = (await get(`${server.urls.base}${first.body.poll}`)).body
      }
      expect(job.status).toBe('succeeded')
    } finally {
      await server.close()
      await redis.stop()
    }
  })
})

describe('MaterializeJobs', () => {
  it('refuses a second run over a view being materialized, and frees it when the run ends', async () => {
    const jobs = new MaterializeJobs()
    let release: () => void = () => undefined
    const first = jobs.start('materialize', ['a', 'b'], () => new Promise((resolve) => (release = () => resolve({ views: [] }))))
    expect(() => jobs.start('materialize', ['b'], async () => null)).toThrow(/'b' is being materialized/)
    expect(jobs.start('materialize', ['c'], async () => null).job.status).toBe('running')
    release()
    expect((await first.done).status).toBe('succeeded')
    const again = jobs.start('materialize', ['b'], async () => {
      throw new Error('offline store down')
    })
    expect(await again.done).toMatchObject({ status: 'failed', error: { code: 'MORSEL_MATERIALIZATION_FAILED', message: 'offline store down' } })
  })

  it('drains running jobs, aborting what outlives the grace period', async () => {
    const jobs = new MaterializeJobs()
    const { done } = jobs.start('materialize', ['a'], (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))))
    await jobs.drain(10)
    expect((await done).status).toBe('failed')
    expect(jobs.running).toBe(0)
  })
})
