import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format'
import { pino, type Logger } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore, MorselClient, isMorselError } from '../../src/index.js'
import { startFeatureServer, type RunningFeatureServer } from '../../src/server/start-feature-server.js'
import { get, makeTestRepo, post, startTestServer, writeSampleRows, type HttpAnswer } from '../support/server-harness.js'
import { startRedisProcess, type RedisProcess } from '../support/redis-process.js'
import { freePort, startRedis, type RedisServer } from '../support/redis-servers.js'
import { makeRepo, uniqueProject } from '../support/temp-repo.js'

const silent = pino({ level: 'silent' })
const READ = { features: ['zipcode_features:city', 'zipcode_features:population'], entities: { zipcode: [76104, 99999] } }

/** A repository served by `startFeatureServer` (the CLI's path) over a private redis-server. */
async function serve(redis: RedisProcess, featureServer = '', handleSignals = false): Promise<RunningFeatureServer> {
  const repo = await makeTestRepo(uniqueProject('ops'), {
    onlineStore: `online_store:\n  type: redis\n  connection_string: "${redis.address}"\n  command_timeout_ms: 2000\n`,
    ...(featureServer !== '' && { featureServer }),
  })
  const setup = await FeatureStore.open(repo)
  await setup.apply()
  await writeSampleRows(setup)
  await setup.close()
  return startFeatureServer({ repoPath: repo, port: 0, logger: silent, handleSignals })
}

/** Sends JSON POSTs pipelined on one raw connection and reads every answer until the server closes it. */
type Answer = Pick<HttpAnswer, 'status' | 'body'> & { readonly head: string }

function pipelined(url: string, bodies: readonly unknown[]): Promise<Answer[]> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname)
    let raw = ''
    socket.on('data', (c: Buffer) => (raw += c.toString()))
    socket.on('error', reject)
    socket.on('close', () => {
      const answers: Answer[] = []
      let rest = raw
      while (rest.length > 0) {
        const headEnd = rest.indexOf('\r\n\r\n')
        const head = rest.slice(0, headEnd)
        const length = Number(/^content-length: (\d+)$/im.exec(head)?.[1] ?? 0)
        const body = rest.slice(headEnd + 4, headEnd + 4 + length)
        answers.push({ status: Number(head.split(' ')[1]), head, body: JSON.parse(body) as unknown })
        rest = rest.slice(headEnd + 4 + length)
      }
      resolve(answers)
    })
    for (const b of bodies) {
      const payload = JSON.stringify(b)
      socket.write(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`)
    }
  })
}

function family(families: readonly PromFamily[], name: string): PromFamily {
  const f = families.find((x) => x.name === name)
  if (f === undefined) throw new Error(`no metric family ${name}; have ${families.map((x) => x.name).join(', ')}`)
  return f
}

function sample(f: PromFamily, labels: Record<string, string>): PromSample | undefined {
  return f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
}

/**
 * The series of labelled histograms. The parser folds a histogram family into one unlabelled
 * sample, so the exposition is parsed a second time with the histogram TYPE lines left out: then
 * each `_bucket`, `_sum` and `_count` series is its own family, labels kept.
 */
function histogramParts(text: string): PromFamily[] {
  return parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram\n/gm, ''))
}

function hist(parts: readonly PromFamily[], name: string, labels: Record<string, string>): { count?: string; sum?: string; bucket: (le: string) => string | undefined } {
  // Each series of the histogram came out as its own family: gather those of one name.
  const merged = (n: string): PromFamily => ({ name: n, help: '', type: 'UNTYPED', metrics: parts.filter((p) => p.name === n).flatMap((p) => p.metrics) })
  const count = sample(merged(`${name}_count`), labels)?.value
  const sum = sample(merged(`${name}_sum`), labels)?.value
  return { ...(count !== undefined && { count }), ...(sum !== undefined && { sum }), bucket: (le) => sample(merged(`${name}_bucket`), { ...labels, le })?.value }
}

describe('health, readiness, metrics, a Redis outage (private redis-server)', () => {
  let redis: RedisProcess
  let server: RunningFeatureServer
  beforeAll(async () => {
    redis = await startRedisProcess()
    server = await serve(redis)
  })
  afterAll(async () => {
    await server?.close()
    await redis?.stop()
  })

  it('answers liveness and readiness', async () => {
    expect((await get(server.urls.health)).body).toEqual({ status: 'ok' })
    const ready = await get(server.urls.ready)
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ status: 'ready', project: server.store.project, registry_version: 1, online_store: { type: 'redis', ok: true } })
  })

  it('exposes Prometheus metrics that a real text-format parser reads, with the values the requests produced', async () => {
    for (let i = 0; i < 3; i++) expect((await post(server.urls.getOnlineFeatures, READ)).status).toBe(200)
    await post(server.urls.getOnlineFeatures, { features: ['credit_flags:missed_payments_1y'], entities: { dob_ssn: ['19630621_4278'] } })
    await post(server.urls.getOnlineFeatures, { features: ['zipcode_features:nope'], entities: { zipcode: [1] } })
    await post(server.urls.push, {
      push_source_name: 'credit_history_push',
      df: { dob_ssn: ['m1', 'm2'], event_timestamp: [new Date().toISOString(), new Date().toISOString()], credit_card_due: [1, 2], mortgage_due: [1, 2], missed_payments_1y: [0, 0] },
    })
    await post(`${server.urls.base}/materialize`, { start_ts: '2023-12-01T00:00:00Z', end_ts: '2024-02-01T00:00:00Z', feature_views: ['profile'] })
    await get(server.urls.ready)

    const res = await fetch(server.urls.metrics)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    const families = parsePrometheusTextFormat(text)
    const parts = histogramParts(text)

    expect(family(families, 'morsel_http_request_duration_seconds').type).toBe('HISTOGRAM')
    expect(hist(parts, 'morsel_http_request_duration_seconds', { route: '/get-online-features', method: 'POST', status: '200' }).count).toBe('4')
    expect(hist(parts, 'morsel_http_request_duration_seconds', { route: '/get-online-features', method: 'POST', status: '400' }).count).toBe('1')
    expect(hist(parts, 'morsel_http_request_duration_seconds', { route: '/push', status: '200' }).count).toBe('1')

    const served = family(families, 'morsel_feature_values_served_total')
    expect(sample(served, { feature_view: 'zipcode_features', status: 'PRESENT' })?.value).toBe('6')
    expect(sample(served, { feature_view: 'zipcode_features', status: 'NOT_FOUND' })?.value).toBe('6')
    expect(sample(served, { feature_view: 'credit_flags', status: 'OUTSIDE_MAX_AGE' })?.value).toBe('1')

    expect(family(families, 'morsel_feature_value_age_seconds').type).toBe('HISTOGRAM')
    const zipAge = hist(parts, 'morsel_feature_value_age_seconds', { feature_view: 'zipcode_features' })
    expect(zipAge.count).toBe('3')
    // The rows are from January 2024: older than a year.
    expect(Number(zipAge.sum)).toBeGreaterThan(3 * 365 * 86_400)
    expect(zipAge.bucket('31536000')).toBe('0')
    // Buckets reach 25 years, so ages of a decade-long ttl are measured, not lumped into +Inf.
    expect(zipAge.bucket('788400000')).toBe('3')
    expect(zipAge.bucket('+Inf')).toBe('3')

    expect(Number(hist(parts, 'morsel_online_store_call_duration_seconds', { store: 'redis', operation: 'read', outcome: 'ok' }).count)).toBeGreaterThanOrEqual(4)
    expect(Number(hist(parts, 'morsel_online_store_call_duration_seconds', { store: 'redis', operation: 'write', outcome: 'ok' }).count)).toBeGreaterThanOrEqual(2)
    expect(Number(hist(parts, 'morsel_online_read_duration_seconds', {}).count)).toBe(4)

    expect(sample(family(families, 'morsel_push_rows_total'), { push_source: 'credit_history_push', to: 'online' })?.value).toBe('2')
    expect(sample(family(families, 'morsel_online_rows_written_total'), { feature_view: 'credit_history', result: 'written', via: 'push' })?.value).toBe('2')
    expect(sample(family(families, 'morsel_materialization_rows_total'), { feature_view: 'profile' })?.value).toBe('1')
    expect(hist(parts, 'morsel_materialization_duration_seconds', { feature_view: 'profile' }).count).toBe('1')
    expect(sample(family(families, 'morsel_materialization_runs_total'), { outcome: 'ok' })?.value).toBe('1')

    expect(sample(family(families, 'morsel_online_store_up'), { store: 'redis' })?.value).toBe('1')
    expect(Number(sample(family(families, 'morsel_online_store_used_memory_bytes'), { store: 'redis' })?.value)).toBeGreaterThan(0)
    expect(Number(sample(family(families, 'morsel_online_store_keyspace_hits'), { store: 'redis' })?.value)).toBeGreaterThan(0)
    expect(family(families, 'morsel_online_store_ops_per_second').metrics.length).toBe(1)
    expect(family(families, 'morsel_online_store_keyspace_misses').metrics.length).toBe(1)
    // The materialization recorded its window in the registry: version 2, which the server now serves.
    expect(family(families, 'morsel_registry_version').metrics[0]?.value).toBe('2')
    expect(family(families, 'nodejs_eventloop_lag_seconds').type).toBe('GAUGE')
    expect(family(families, 'process_cpu_seconds_total').type).toBe('COUNTER')
  })

  it('answers 503 with Retry-After while Redis is down, and serves again once it is back', async () => {
    await redis.stop()
    const read = await post(server.urls.getOnlineFeatures, READ)
    expect(read.status).toBe(503)
    expect(read.headers.get('retry-after')).toBe('1')
    expect(read.body.error.code).toBe('MORSEL_STORE_UNAVAILABLE')
    const ready = await get(server.urls.ready)
    expect(ready.status).toBe(503)
    expect(ready.headers.get('retry-after')).toBe('1')
    expect((await get(server.urls.health)).status).toBe(200)
    const metrics = parsePrometheusTextFormat((await get(server.urls.metrics)).text)
    expect(sample(family(metrics, 'morsel_online_store_up'), { store: 'redis' })?.value).toBe('0')

    await redis.restart()
    await server.store.writeToOnlineStore('zipcode_features', [{ zipcode: 76104, event_timestamp: '2024-01-15T00:00:00Z', city: 'FORT WORTH', state: 'TX', population: 54839, total_wages: 1 }]).catch(() => undefined)
    let again = await post(server.urls.getOnlineFeatures, READ)
    for (let i = 0; i < 100 && again.status !== 200; i++) {
      await sleep(100)
      again = await post(server.urls.getOnlineFeatures, READ)
    }
    expect(again.status).toBe(200)
    expect((await get(server.urls.ready)).status).toBe(200)
  })
})

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger(lines: string[]): Logger {
  return pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter((l) => l !== ''))
        done()
      },
    }),
  )
}

/** An on-demand view whose function fails with a message naming a file on the server. */
const FAILING_ODFV = `
import { OnDemandFeatureView, RequestSource, types } from 'morsel'
const probe = new RequestSource({ name: 'probe_request', schema: { probe: types.Int64 } })
export const broken = new OnDemandFeatureView({
  name: 'broken', sources: [probe], schema: { out: types.Int64 },
  udf: () => { throw new Error('cannot open /srv/internal/model-cache.db') },
})
`

describe('a server started before its Redis (private redis-server started later)', () => {
  let port: number
  let redis: RedisServer | undefined
  let server: RunningFeatureServer
  const logs: string[] = []
  beforeAll(async () => {
    port = await freePort()
    const repo = await makeTestRepo(uniqueProject('late'), {
      onlineStore: `online_store:\n  type: redis\n  connection_string: "127.0.0.1:${port}"\n  connect_timeout_ms: 500\n  command_timeout_ms: 1000\n`,
      files: { 'broken.ts': FAILING_ODFV },
    })
    const setup = await FeatureStore.open(repo)
    await setup.apply()
    await setup.close()
    server = await startFeatureServer({ repoPath: repo, port: 0, logger: capturingLogger(logs), handleSignals: false })
  })
  afterAll(async () => {
    await server?.close()
    await redis?.stop()
  })

  it('listens anyway: reads are 503 with a generic message and the request id, the log has the detail under that id', async () => {
    const read = await post(server.urls.getOnlineFeatures, READ)
    expect(read.status, read.text).toBe(503)
    expect(read.headers.get('retry-after')).toBe('1')
    expect(read.body.error.code).toBe('MORSEL_STORE_UNAVAILABLE')
    const id = read.headers.get('x-request-id')!
    expect(read.body.error.message).toContain(`request id ${id}`)
    expect(read.text).not.toContain(String(port))
    expect(read.text).not.toMatch(/127\.0\.0\.1|localhost/)
    const logged = logs.map((l) => JSON.parse(l) as { reqId?: string; level: number; msg: string; err?: { message?: string } })
    const detail = logged.find((l) => l.reqId === id && l.level >= 50)
    expect(detail?.msg).toContain(`127.0.0.1:${port}`)

    const ready = await get(server.urls.ready)
    expect(ready.status).toBe(503)
    expect(ready.body.error.code).toBe('MORSEL_STORE_UNAVAILABLE')
    expect(ready.text).not.toContain(String(port))
    expect(ready.body.error.message).toContain(ready.headers.get('x-request-id')!)
    expect((await get(server.urls.health)).status).toBe(200)
  })

  it('answers a 500 with the code and request id only, the failure itself in the log', async () => {
    const res = await post(server.urls.getOnlineFeatures, { features: ['broken:out'], entities: { probe: [1] } })
    expect(res.status, res.text).toBe(500)
    expect(res.body.error.code).toBe('MORSEL_TRANSFORM_FAILED')
    const id = res.headers.get('x-request-id')!
    expect(res.body.error.message).toContain(`request id ${id}`)
    expect(res.text).not.toContain('/srv/internal')
    expect(logs.some((l) => l.includes(id) && l.includes('/srv/internal/model-cache.db'))).toBe(true)
  })

  it('serves once Redis comes up, without a restart', async () => {
    redis = await startRedis({ name: 'late', port })
    let ready = await get(server.urls.ready)
    for (let i = 0; i < 300 && ready.status !== 200; i++) {
      await sleep(100)
      ready = await get(server.urls.ready)
    }
    expect(ready.status, ready.text).toBe(200)
    await writeSampleRows(server.store)
    const read = await post(server.urls.getOnlineFeatures, READ)
    expect(read.status, read.text).toBe(200)
    expect(read.body.results[1].values).toEqual(['FORT WORTH', null])
    expect(logs.some((l) => l.includes('connected to the online store'))).toBe(true)
  })
})

describe('TLS', () => {
  let redis: RedisProcess
  let server: RunningFeatureServer
  let cert: string
  beforeAll(async () => {
    redis = await startRedisProcess()
    const dir = makeRepo({})
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' })
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8')
    server = await serve(redis, `  tls:\n    cert_file: ${join(dir, 'cert.pem')}\n    key_file: ${join(dir, 'key.pem')}`)
  })
  afterAll(async () => {
    await server?.close()
    await redis?.stop()
  })

  it('serves HTTPS with the configured certificate', async () => {
    expect(server.urls.base.startsWith('https://')).toBe(true)
    const client = new MorselClient({ url: server.urls.base, ca: cert })
    try {
      const res = await client.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 76104 }] })
      expect(res.value('city')).toBe('FORT WORTH')
    } finally {
      client.close()
    }
    // A client that does not trust the certificate is refused by TLS, not answered in clear.
    const untrusting = new MorselClient({ url: server.urls.base })
    try {
      const err = await untrusting.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 76104 }] }).catch((e: unknown) => e)
      expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
      expect((err as Error).message).toMatch(/certificate/i)
    } finally {
      untrusting.close()
    }
  })
})

describe('graceful shutdown', () => {
  it('finishes the request in flight, then refuses new ones and closes the store', async () => {
    const redis = await startRedisProcess()
    const server = await serve(redis)
    try {
      // Redis holds every command for 800 ms: the request is in flight when shutdown begins.
      await redis.command(['CLIENT', 'PAUSE', '800', 'ALL'])
      const arrived = new Promise<void>((resolve) => server.app.server.once('request', () => resolve()))
      // Two requests pipelined on one connection: the second waits in the socket while the first is served.
      const exchange = pipelined(server.urls.getOnlineFeatures, [READ, READ])
      await arrived
      const closing = server.close()
      const [answer, late] = await exchange
      expect(answer!.status).toBe(200)
      expect(answer!.body.results[1].values).toEqual(['FORT WORTH', null])
      // The request that arrived while the server drains: 503 in Morsel's form, and the connection closes.
      expect(late!.status).toBe(503)
      expect(late!.head).toMatch(/^connection: close$/im)
      expect(late!.head).toMatch(/^retry-after: 1$/im)
      expect(late!.body.error.code).toBe('MORSEL_STORE_UNAVAILABLE')
      await closing
      await server.closed
      const after = await fetch(server.urls.health).then(
        (r) => r.status,
        () => 'refused',
      )
      expect(after).toBe('refused')
    } finally {
      await server.close()
      await redis.stop()
    }
  })
})

describe('metrics switched off', () => {
  it('serves without a /metrics endpoint', async () => {
    const s = await startTestServer({ featureServer: '  metrics:\n    enabled: false' })
    try {
      expect((await get(`${s.url}/metrics`)).status).toBe(404)
      expect((await post(`${s.url}/get-online-features`, READ)).status).toBe(200)
    } finally {
      await s.close()
    }
  })
})
