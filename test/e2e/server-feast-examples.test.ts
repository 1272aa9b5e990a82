import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { createServer } from '../../src/server/create-server.js'
import { ONLINE_STORE, REDIS_URL, type HttpAnswer } from '../support/server-harness.js'
import { makeRepo, uniqueProject } from '../support/temp-repo.js'

/**
 * The requests of Feast's feature-server documentation (`docs/reference/feature-servers/
 * python-feature-server.md`) and of its template repository (`feast init`: driver statistics, a
 * push source, request data and an on-demand view), sent as Feast's docs send them (curl, no
 * content type), against the same repository written in TypeScript.
 */
const FEATURES_TS = `
import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, PushSource, RequestSource, types } from 'morsel'

export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })

const driverStatsSource = new FileSource({
  name: 'driver_hourly_stats_source', path: 'data/driver_stats.parquet', timestampField: 'event_timestamp', createdTimestampColumn: 'created',
})

export const driverHourlyStats = new FeatureView({
  name: 'driver_hourly_stats', entities: [driver], ttl: { days: 36500 },
  schema: { conv_rate: types.Float32, acc_rate: types.Float32, avg_daily_trips: types.Int64 },
  source: driverStatsSource,
})

export const driverStatsPushSource = new PushSource({ name: 'driver_stats_push_source', batchSource: driverStatsSource })

export const driverHourlyStatsFresh = new FeatureView({
  name: 'driver_hourly_stats_fresh', entities: [driver], ttl: { days: 36500 },
  schema: { conv_rate: types.Float32, acc_rate: types.Float32, avg_daily_trips: types.Int64 },
  source: driverStatsPushSource,
})

export const inputRequest = new RequestSource({ name: 'vals_to_add', schema: { val_to_add: types.Int64, val_to_add_2: types.Int64 } })

export const transformedConvRate = new OnDemandFeatureView({
  name: 'transformed_conv_rate', sources: [driverHourlyStats, inputRequest],
  schema: { conv_rate_plus_val1: types.Float64, conv_rate_plus_val2: types.Float64 },
  udf: (r) => ({
    conv_rate_plus_val1: r.conv_rate === null || r.val_to_add === null ? null : r.conv_rate + r.val_to_add,
    conv_rate_plus_val2: r.conv_rate === null || r.val_to_add_2 === null ? null : r.conv_rate + r.val_to_add_2,
  }),
})

export const driverActivityV1 = new FeatureService({
  name: 'driver_activity_v1', features: [driverHourlyStats.select(['conv_rate']), transformedConvRate],
})
`

const EPOCH = '1970-01-01T00:00:00Z'

describe(`Feast's documented feature-server requests (${ONLINE_STORE})`, () => {
  let store: FeatureStore
  let url: string
  let close: (() => Promise<void>) | undefined

  beforeAll(async () => {
    const project = uniqueProject('feast')
    const online = ONLINE_STORE === 'redis' ? `online_store:\n  type: redis\n  connection_string: "${REDIS_URL}"\n` : 'online_store:\n  type: sqlite\n  path: data/online.db\n'
    const repo = makeRepo({ 'feature_store.yaml': `project: ${project}\nregistry: data/registry.json\n${online}`, 'features.ts': FEATURES_TS })
    mkdirSync(join(repo, 'data'), { recursive: true })
    // Hourly rows of 2021 for drivers 1001-1003, as Feast's template has; the last hour's values are 0.1·id-ish.
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    await conn.run(`COPY (
      SELECT TIMESTAMPTZ '2021-04-12 10:00:00+00' + h * INTERVAL 1 HOUR AS event_timestamp, d::BIGINT AS driver_id,
             ((d - 1000) / 10.0 + h / 1000.0)::FLOAT AS conv_rate, ((d - 1000) / 5.0)::FLOAT AS acc_rate, (d - 1000 + h)::BIGINT AS avg_daily_trips,
             TIMESTAMPTZ '2021-04-12 10:00:00+00' + h * INTERVAL 1 HOUR AS created
      FROM range(0, 10) t(h), (VALUES (1001), (1002), (1003)) v(d)
    ) TO '${join(repo, 'data/driver_stats.parquet')}' (FORMAT parquet)`)
    conn.closeSync()
    db.closeSync()
    store = await FeatureStore.open(repo)
    await store.apply()
    const app = createServer(store)
    url = await app.listen({ host: '127.0.0.1', port: 0 })
    close = async () => {
      await app.close()
      await store.teardown()
      await store.close()
    }
  })
  afterAll(async () => close?.())

  const curl = async (path: string, body: string): Promise<Pick<HttpAnswer, 'status' | 'body'>> => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body })
    return { status: res.status, body: await res.json() }
  }

  it('materializes (Feast docs: POST /materialize with naive times and feature_views)', async () => {
    const res = await curl('/materialize', '{"start_ts": "2021-01-01T00:00:00", "end_ts": "2022-01-01T00:00:00", "feature_views": ["driver_hourly_stats"]}')
    expect(res.status).toBe(200)
    expect(res.body.result.feature_views).toEqual([expect.objectContaining({ name: 'driver_hourly_stats', rows: 3 })])
  })

  it('reads features of three drivers (Feast docs: POST /get-online-features)', async () => {
    const res = await curl(
      '/get-online-features',
      `{"features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate", "driver_hourly_stats:avg_daily_trips"],
        "entities": {"driver_id": [1001, 1002, 1003]}}`,
    )
    expect(res.status).toBe(200)
    expect(res.body.metadata.feature_names).toEqual(['driver_id', 'conv_rate', 'acc_rate', 'avg_daily_trips'])
    const [ids, conv, acc, trips] = res.body.results
    expect(ids).toEqual({ values: [1001, 1002, 1003], statuses: ['PRESENT', 'PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH, EPOCH] })
    expect(conv.values.map((v: number) => Math.round(v * 1000) / 1000)).toEqual([0.109, 0.209, 0.309])
    expect(acc.values.map((v: number) => Math.round(v * 1000) / 1000)).toEqual([0.2, 0.4, 0.6])
    expect(trips).toEqual({ values: [10, 11, 12], statuses: ['PRESENT', 'PRESENT', 'PRESENT'], event_timestamps: Array(3).fill('2021-04-12T19:00:00Z') })
  })

  it('reads a feature service with request data given among the entities (Feast docs)', async () => {
    const res = await curl('/get-online-features', '{"feature_service": "driver_activity_v1", "entities": {"driver_id": [1001, 1002], "val_to_add": [1000, 1001], "val_to_add_2": [2000, 2002]}}')
    expect(res.status).toBe(200)
    expect(res.body.metadata.feature_names).toEqual(['driver_id', 'val_to_add', 'val_to_add_2', 'conv_rate', 'conv_rate_plus_val1', 'conv_rate_plus_val2'])
    const plus1 = res.body.results[4]
    expect(plus1.statuses).toEqual(['PRESENT', 'PRESENT'])
    expect(plus1.values.map((v: number) => Math.round(v * 1000) / 1000)).toEqual([1000.109, 1001.209])
    expect(plus1.event_timestamps).toEqual([EPOCH, EPOCH])
  })

  it('pushes Feast’s documented row, timestamps in Feast’s form, and reads it back from the fresh view', async () => {
    const push = await curl(
      '/push',
      `{"push_source_name": "driver_stats_push_source",
        "df": {"driver_id": [1001], "event_timestamp": ["2022-05-13 10:59:42+00:00"], "created": ["2022-05-13 10:59:42"],
               "conv_rate": [1.0], "acc_rate": [1.0], "avg_daily_trips": [1000]},
        "to": "online"}`,
    )
    expect(push.status).toBe(200)
    // Only the view whose source is the push source takes the row (driver_hourly_stats reads the file).
    expect(push.body.feature_views).toEqual([{ name: 'driver_hourly_stats_fresh', written: 1, skipped: 0 }])
    const read = await curl('/get-online-features', '{"features": ["driver_hourly_stats_fresh:avg_daily_trips", "driver_hourly_stats_fresh:conv_rate"], "entities": {"driver_id": [1001]}}')
    expect(read.body.results[1]).toEqual({ values: [1000], statuses: ['PRESENT'], event_timestamps: ['2022-05-13T10:59:42Z'] })
    expect(read.body.results[2].values).toEqual([1])
  })

  it('materializes incrementally (Feast docs: POST /materialize-incremental)', async () => {
    const res = await curl('/materialize-incremental', '{"end_ts": "2022-01-01T00:00:00", "feature_views": ["driver_hourly_stats"]}')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('succeeded')
  })
})
