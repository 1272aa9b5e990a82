import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import type { FastifyInstance } from 'fastify'
import { FeatureStore } from '../../src/index.js'
import { createServer, type CreateServerOptions } from '../../src/server/create-server.js'
import { csv, makeRepo, uniqueProject } from './temp-repo.js'

/**
 * The online store every server test runs against. One line to switch: `sqlite` is embedded,
 * `redis` is the shared server on 127.0.0.1:6379 (each test file uses its own project).
 */
export const ONLINE_STORE: 'sqlite' | 'redis' = 'redis'

export const REDIS_URL = process.env.MORSEL_TEST_REDIS ?? 'localhost:6379'

function onlineStoreYaml(): string {
  return ONLINE_STORE === 'redis' ? `online_store:\n  type: redis\n  connection_string: "${REDIS_URL}"\n` : 'online_store:\n  type: sqlite\n  path: data/online.db\n'
}

/** Feast's credit-scoring shapes, plus a push source, request data, an on-demand view and typed values. */
export const DEFINITIONS = `
import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, PushSource, RequestSource, types } from 'morsel'

export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
export const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })

export const zipcodeFeatures = new FeatureView({
  name: 'zipcode_features', entities: [zipcode], ttl: { days: 36500 },
  source: new FileSource({ name: 'zipcode_source', path: 'data/zipcode.csv', timestampField: 'event_timestamp' }),
  schema: { city: types.String, state: types.String, population: types.Int64, total_wages: types.Int64 },
})

const creditSource = new FileSource({ name: 'credit_history_source', path: 'data/credit_history.csv', timestampField: 'event_timestamp' })
export const creditPush = new PushSource({ name: 'credit_history_push', batchSource: creditSource })

export const creditHistory = new FeatureView({
  name: 'credit_history', entities: [dobSsn],
  source: creditPush,
  schema: { credit_card_due: types.Int64, mortgage_due: types.Int64, missed_payments_1y: types.Int64 },
})

// Also fed by the push source: a push writes to both views.
export const creditFlags = new FeatureView({
  name: 'credit_flags', entities: [dobSsn], ttl: { days: 1 },
  source: creditPush,
  schema: { missed_payments_1y: types.Int64 },
})

export const profile = new FeatureView({
  name: 'profile', entities: [dobSsn],
  source: new FileSource({ name: 'profile_source', path: 'data/profile.parquet', timestampField: 'event_timestamp' }),
  schema: { photo: types.Bytes, tags: types.Array(types.String), last_login: types.UnixTimestamp, score: types.Float64, active: types.Bool },
})

export const loanRequest = new RequestSource({ name: 'loan_request', schema: { loan_amnt: types.Int64, person_income: types.Int64 } })

export const loanRatios = new OnDemandFeatureView({
  name: 'loan_ratios', sources: [creditHistory, loanRequest],
  schema: { loan_to_income: types.Float64, debt_to_income: types.Float64 },
  udf: (r) => ({
    loan_to_income: r.loan_amnt === null || !r.person_income ? null : r.loan_amnt / r.person_income,
    debt_to_income: r.credit_card_due === null || r.mortgage_due === null || !r.person_income ? null : (r.credit_card_due + r.mortgage_due) / r.person_income,
  }),
})

export const creditModel = new FeatureService({
  name: 'credit_model_v1',
  features: [zipcodeFeatures.select(['city', 'population']), creditHistory.select(['credit_card_due']), loanRatios],
})
export const zipcodeService = new FeatureService({ name: 'zipcode_service', features: [zipcodeFeatures] })
export const profileService = new FeatureService({ name: 'profile_service', features: [profile] })
`

/** The time of Feast's documented example rows. */
export const T_ZIP = '2024-01-15T00:00:00Z'
export const T_CREDIT = '2024-03-01T00:00:00Z'

export interface TestServer {
  readonly project: string
  readonly repo: string
  readonly store: FeatureStore
  readonly app: FastifyInstance
  /** `http://127.0.0.1:PORT` (https with TLS). */
  readonly url: string
  close(): Promise<void>
}

export interface TestServerOptions {
  /** An `online_store:` section other than the harness default (e.g. a private redis-server). */
  readonly onlineStore?: string
  /** Lines for the `feature_server:` section of feature_store.yaml (indented by two spaces). */
  readonly featureServer?: string
  /** Extra repository files. */
  readonly files?: Readonly<Record<string, string>>
  readonly server?: CreateServerOptions
  /** Skip writing the sample rows. */
  readonly empty?: boolean
  /** Do not listen (tests that only check construction). */
  readonly listen?: boolean
  /** Address to listen on; default 127.0.0.1. */
  readonly host?: string
  readonly env?: NodeJS.ProcessEnv
}

/** Makes a repository, applies it, writes Feast's example rows, and serves it on a random port. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const project = uniqueProject('srv')
  const repo = await makeTestRepo(project, options)
  const store = await FeatureStore.open({ repoPath: repo, ...(options.env !== undefined && { env: options.env }) })
  await store.apply()
  if (options.empty !== true) await writeSampleRows(store)
  const host = options.host ?? '127.0.0.1'
  const app = createServer(store, { host, ...options.server })
  let url = ''
  if (options.listen !== false) {
    const address = await app.listen({ host, port: 0 })
    url = address.replace('[::1]', '127.0.0.1')
  } else {
    await app.ready()
  }
  return {
    project,
    repo,
    store,
    app,
    url,
    async close() {
      await app.close()
      await store.teardown().catch(() => undefined)
      await store.close()
    },
  }
}

export async function makeTestRepo(project: string, options: TestServerOptions = {}): Promise<string> {
  const serverYaml = options.featureServer !== undefined ? `feature_server:\n${options.featureServer}\n` : ''
  const dir = makeRepo({
    'feature_store.yaml': `project: ${project}\nregistry:\n  path: data/registry.json\n  cache_ttl_seconds: 1\n${options.onlineStore ?? onlineStoreYaml()}${serverYaml}`,
    'features.ts': DEFINITIONS,
    'data/zipcode.csv': csv(['event_timestamp', 'zipcode', 'city', 'state', 'population', 'total_wages'], [[T_ZIP, 76104, 'FORT WORTH', 'TX', 54839, 1000]]),
    'data/credit_history.csv': csv(
      ['event_timestamp', 'dob_ssn', 'credit_card_due', 'mortgage_due', 'missed_payments_1y'],
      [[T_CREDIT, '19630621_4278', 1795, 100000, 0]],
    ),
    ...options.files,
  })
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  await conn.run(
    `COPY (SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' AS event_timestamp, '19630621_4278' AS dob_ssn, '\\x01\\x02\\xff'::BLOB AS photo, ['a', 'b'] AS tags, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS last_login, 0.5::DOUBLE AS score, true AS active) TO '${join(dir, 'data/profile.parquet')}' (FORMAT parquet)`,
  )
  conn.closeSync()
  db.closeSync()
  return dir
}

/** The rows behind Feast's documented `/get-online-features` example, and a few more. */
export async function writeSampleRows(store: FeatureStore): Promise<void> {
  await store.writeToOnlineStore('zipcode_features', {
    zipcode: [76104, 10001],
    event_timestamp: [T_ZIP, T_ZIP],
    city: ['FORT WORTH', null],
    state: ['TX', 'NY'],
    population: [54839, 21102],
    total_wages: [1_500_000_000, 9_007_199_254_740_991],
  })
  await store.writeToOnlineStore('credit_history', {
    dob_ssn: ['19630621_4278'],
    event_timestamp: [T_CREDIT],
    credit_card_due: [1795],
    mortgage_due: [100_000],
    missed_payments_1y: [0],
  })
  // Older than the view's one-day ttl: served as OUTSIDE_MAX_AGE.
  await store.writeToOnlineStore('credit_flags', { dob_ssn: ['19630621_4278'], event_timestamp: [T_CREDIT], missed_payments_1y: [3] })
  await store.writeToOnlineStore('profile', {
    dob_ssn: ['19630621_4278'],
    event_timestamp: ['2024-01-01T00:00:00Z'],
    photo: [new Uint8Array([1, 2, 255])],
    tags: [['a', 'b']],
    last_login: [new Date('2024-01-01T00:00:00Z')],
    score: [0.5],
    active: [true],
  })
}

/** A parsed HTTP answer; `body` is the JSON, loosely typed for assertions. */
export interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any
  readonly text: string
}

/** A JSON POST over real HTTP; returns status, headers and the parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: res.status, headers: res.headers, body: parsed, text }
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { headers })
  const text = await res.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: res.status, headers: res.headers, body: parsed, text }
}
