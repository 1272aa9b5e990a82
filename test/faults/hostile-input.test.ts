import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect, type Socket } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES, FeatureStore } from '../../src/index.js'
import { heapProbe, quantile, recordFigures, round, serveInChild, type ChildServer, type HeapFigures } from '../support/fault-support.js'
import { makeTestRepo, writeSampleRows } from '../support/server-harness.js'
import { uniqueProject } from '../support/temp-repo.js'

/**
 * Hostile input against `morsel serve` in its own process over Redis: thousands of generated
 * requests to every endpoint (bodies, headers, query strings, methods, malformed HTTP), slow
 * clients and oversized bodies. Only documented answers come back, in Morsel's error form, the
 * process stays up, its memory stays bounded, and slow or oversized clients are cut off.
 */

const ADMIN_KEY = 'fuzz-admin-key-5e1f0c9a7b3d'
const READER_KEY = 'fuzz-reader-key-2a4c6e8f0b1d'
const CLIENT_TIMEOUT_MS = 1500
const MAX_BODY = 65_536
const FUZZ_RUNS = 4000
const RAW_RUNS = 400

/** What a request may be answered with: the statuses docs/reference/http-api.md lists for a healthy store. */
const DOCUMENTED = new Set([200, 202, 301, 400, 401, 403, 404, 408, 409, 413, 431])

let server: ChildServer
let base: URL
const heap = heapProbe()
const agent = new Agent({ keepAlive: true, maxSockets: 8 })

beforeAll(async () => {
  const project = uniqueProject('hostile')
  const repo = await makeTestRepo(project, {
    featureServer: `  limits:
    max_body_bytes: ${MAX_BODY}
    max_entities_per_request: 50
    max_rows_per_write: 50
    client_timeout_ms: ${CLIENT_TIMEOUT_MS}
  auth:
    type: api_key
    api_keys:
      - principal: admin
        key: ${ADMIN_KEY}
      - principal: reader
        key: ${READER_KEY}
        roles: [reader]
  permissions:
    - name: admin-all
      principals: [admin]
      actions: [read_online, write_online, write_offline, materialize]
    - name: reader-reads
      roles: [reader]
      actions: [read_online]`,
  })
  const setup = await FeatureStore.open(repo)
  await setup.apply()
  await writeSampleRows(setup)
  await setup.close()
  server = await serveInChild(repo, { logLevel: 'warn', env: heap.env })
  base = new URL(server.url)
}, 120_000)

afterAll(async () => {
  agent.destroy()
  await server?.stop()
})

interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

function send(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 30 s`)))
    req.end(body)
  })
}

/** Checks an answer is documented and, when an error, in Morsel's form with the status of its code. */
function checkAnswer(a: Answer, what: string): void {
  expect(DOCUMENTED.has(a.status), `${what} → ${a.status} ${a.body.slice(0, 300)}`).toBe(true)
  if (a.status >= 400) {
    let parsed: { error?: { code?: string; message?: string } } = {}
    expect(() => (parsed = JSON.parse(a.body) as typeof parsed), `${what} → ${a.status} ${JSON.stringify(a.headers)} ${JSON.stringify(a.body.slice(0, 300))}`).not.toThrow()
    expect(Object.keys(parsed), what).toEqual(['error'])
    const code = parsed.error?.code as keyof typeof ERROR_CODES
    expect(ERROR_CODES[code]?.status, `${what}: ${a.body.slice(0, 300)}`).toBe(a.status)
    expect(typeof parsed.error?.message).toBe('string')
  }
}

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max })
const latin1 = (max: number) =>
  fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09)).map((c) => String.fromCharCode(c)), maxLength: max })

const scalar = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.constantFrom('2024-01-01T00:00:00Z', '19630621_4278', '76104', '9007199254740993', '', 'NaN'))
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.object({ maxDepth: 1, maxKeys: 2 }))
const column = fc.oneof(fc.array(value, { minLength: 0, maxLength: 4 }), value)
const columns = (names: readonly string[]) => fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })), column, { maxKeys: 6 })
const CREDIT_COLUMNS = ['dob_ssn', 'event_timestamp', 'credit_card_due', 'mortgage_due', 'missed_payments_1y', 'zipcode']
const time = fc.oneof(fc.constantFrom('2024-01-01T00:00:00Z', '2023-12-01 00:00:00+00:00', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '0001-01-01T00:00:00Z', 'yesterday', ''), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), scalar)
const viewNames = fc.oneof(fc.array(fc.constantFrom('zipcode_features', 'credit_history', 'profile', 'loan_ratios', 'nope'), { maxLength: 3 }), value)

/** Bodies close to each endpoint's shape, so the fuzz reaches deep into validation and execution. */
const bodies: Record<string, fc.Arbitrary<unknown>> = {
  '/get-online-features': fc.record(
    {
      features: fc.oneof(fc.array(fc.constantFrom('zipcode_features:city', 'credit_history:credit_card_due', 'loan_ratios:loan_to_income', 'profile:photo', 'nope:x', ':', ''), { maxLength: 3 }), value),
      feature_service: fc.oneof(fc.constantFrom('credit_model_v1', 'zipcode_service', 'profile_service', 'x'), value),
      entities: fc.oneof(columns(['zipcode', 'dob_ssn', 'loan_amnt', 'person_income', '__proto__']), value),
      request_context: columns(['loan_amnt', 'person_income']),
      full_feature_names: fc.oneof(fc.boolean(), value),
    },
    { requiredKeys: [] },
  ),
  '/push': fc.record(
    { push_source_name: fc.oneof(fc.constantFrom('credit_history_push', 'zipcode_source', 'x'), value), df: fc.oneof(columns(CREDIT_COLUMNS), value), to: fc.oneof(fc.constantFrom('online', 'offline', 'both', 'online_and_offline', 'disk'), value) },
    { requiredKeys: [] },
  ),
  '/write-to-online-store': fc.record(
    { feature_view_name: fc.oneof(fc.constantFrom('credit_history', 'zipcode_features', 'loan_ratios', 'x'), value), df: fc.oneof(columns(CREDIT_COLUMNS), value) },
    { requiredKeys: [] },
  ),
  '/materialize': fc.record({ start_ts: time, end_ts: time, feature_views: viewNames, disable_event_timestamp: fc.oneof(fc.boolean(), value) }, { requiredKeys: [] }),
  '/materialize-incremental': fc.record({ end_ts: time, feature_views: viewNames }, { requiredKeys: [] }),
}

const ENDPOINTS: ReadonlyArray<readonly [string, string]> = [
  ['POST', '/get-online-features'],
  ['POST', '/push'],
  ['POST', '/write-to-online-store'],
  ['POST', '/materialize'],
  ['POST', '/materialize-incremental'],
  ['GET', '/materialize/jobs'],
  ['GET', '/materialize/jobs/00000000-0000-0000-0000-000000000000'],
  ['GET', '/health'],
  ['GET', '/ready'],
  ['GET', '/metrics'],
  ['GET', '/console/api/overview'],
  ['GET', '/console/api/registry'],
  ['GET', '/console/api/freshness'],
  ['GET', '/console/api/timeseries'],
  ['GET', '/console/api/lookup'],
  ['GET', '/console/api/nothing'],
  ['GET', '/nothing-here'],
]

const credential = fc.oneof(
  fc.constant<Record<string, string>>({}),
  { weight: 4, arbitrary: fc.constant({ authorization: `Bearer ${ADMIN_KEY}` }) },
  { weight: 2, arbitrary: fc.constant({ 'x-api-key': READER_KEY }) },
  fc.constant({ authorization: `bearer   ${ADMIN_KEY}  ` }),
  printable(40).map((k) => ({ authorization: `Bearer ${k}` })),
  latin1(40).map((k) => ({ authorization: k })),
  printable(40).map((k) => ({ 'x-api-key': k })),
  fc.constant({ authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` }),
)
const HEADER_NAMES = ['accept', 'accept-encoding', 'user-agent', 'x-request-id', 'x-forwarded-for', 'cookie', 'origin', 'x-fuzz', 'cache-control']
const extraHeaders = fc.dictionary(fc.constantFrom(...HEADER_NAMES), latin1(60), { maxKeys: 4 })
const contentType = fc.oneof(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', ''),
  printable(30),
)
const queryString = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?async=true', '?async=1', '?async=maybe', '?async=true&async=false', '?zipcode=76104', '?zipcode=76104&zipcode=1', '?dob_ssn=19630621_4278', '?__proto__=1', '?a[b]=c', '?%zz=1', '?x=%00'),
  fc.dictionary(printable(8), printable(16), { maxKeys: 3 }).map((q) => `?${new URLSearchParams(q).toString()}`),
)
const bodyText = (path: string) =>
  fc.oneof(
    { weight: 5, arbitrary: (bodies[path] ?? fc.jsonValue()).map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', 'null', '{"a":1}'.repeat(3), '{"features": ["zipcode_features:city"], "entities": {"zipcode": [76104]}}') },
  )

const request = fc
  .tuple(fc.constantFrom(...ENDPOINTS), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), fc.integer({ min: 0, max: 9 }), fc.boolean())
  .chain(([[method, path], otherMethod, mutate, trailingSlash]) =>
    fc.record({
      method: fc.constant(mutate === 0 ? otherMethod : method),
      path: fc.constant(`${path}${trailingSlash && mutate === 1 ? '/' : ''}`),
      query: queryString,
      headers: fc.tuple(credential, extraHeaders, contentType).map(([c, h, t]) => ({ ...h, ...c, ...(t !== '' && { 'content-type': t }) })),
      body: method === 'POST' ? bodyText(path) : fc.constant(undefined),
    }),
  )

describe('a property-based fuzz of every endpoint', () => {
  it(`answers ${FUZZ_RUNS} generated requests with documented statuses only, stays up, and keeps its memory bounded`, async () => {
    const statuses = new Map<number, number>()
    let runs = 0
    let rssAfterWarmUp = 0
    let heapAfterWarmUp: HeapFigures | undefined
    let maxLatencyMs = 0
    const started = performance.now()
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const t0 = performance.now()
        const a = await send(r.method, `${r.path}${r.query}`, r.headers, r.body === undefined ? undefined : Buffer.from(r.body, 'latin1'))
        maxLatencyMs = Math.max(maxLatencyMs, performance.now() - t0)
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
        if (r.method !== 'HEAD') checkAnswer(a, `${r.method} ${r.path}${r.query} ${JSON.stringify(r.headers)} ${String(r.body).slice(0, 200)}`)
        if (++runs === 1000) {
          rssAfterWarmUp = server.rss()
          heapAfterWarmUp = await heap.read(server.pid)
        }
      }),
      { numRuns: FUZZ_RUNS, seed: 20_240_115, endOnFailure: true },
    )
    const seconds = (performance.now() - started) / 1000
    expect(server.alive()).toBe(true)
    const health = await send('GET', '/health', {}, undefined)
    expect(health.status).toBe(200)
    const rssEnd = server.rss()
    const heapEnd = await heap.read(server.pid)
    // Live heap after a full collection: garbage not yet collected does not count, retained memory
    // does. A leak of 3 KB per request would add 8 MB over the run.
    const growthMb = (heapEnd.heapUsed - heapAfterWarmUp!.heapUsed) / 2 ** 20
    expect(growthMb, `the live heap grew ${growthMb.toFixed(2)} MB over ${FUZZ_RUNS - 1000} requests`).toBeLessThan(8)
    const internal = server.logs.filter((l) => l.includes('MORSEL_INTERNAL') || l.includes('"level":50'))
    expect(internal, internal.slice(0, 3).join('\n')).toEqual([])
    recordFigures('fuzz: every endpoint', {
      requests: runs,
      seconds: round(seconds),
      statuses: [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' '),
      maxLatencyMs: round(maxLatencyMs),
      liveHeapAfterWarmUpMb: round(heapAfterWarmUp!.heapUsed / 2 ** 20, 2),
      liveHeapEndMb: round(heapEnd.heapUsed / 2 ** 20, 2),
      rssAfterWarmUpMb: round(rssAfterWarmUp / 2 ** 20),
      rssEndMb: round(rssEnd / 2 ** 20),
    })
  }, 300_000)

  it(`answers ${RAW_RUNS} malformed HTTP/1.1 requests (flipped bytes, broken framing, smuggling shapes) in Morsel's form or by closing, and stays up`, async () => {
    const valid = (body: string) =>
      `POST /get-online-features HTTP/1.1\r\nHost: ${base.host}\r\nAuthorization: Bearer ${READER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    const okBody = JSON.stringify({ features: ['zipcode_features:city'], entities: { zipcode: [76104] } })
    const mutation = fc.oneof(
      fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => (s: string) => {
        const b = Buffer.from(s, 'latin1')
        b[at % b.length] = byte
        return b.toString('latin1')
      }),
      fc.record({ at: fc.nat(), insert: fc.constantFrom('\r\n', '\n', '\r', '\u0000', ' ', ':', '\r\n\r\n', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 0\r\n') }).map(({ at, insert }) => (s: string) => {
        const i = at % s.length
        return s.slice(0, i) + insert + s.slice(i)
      }),
      fc.constantFrom(
        (s: string) => s.replace('Content-Length:', 'Content-Length: 5\r\nContent-Length:'),
        (s: string) => s.replace('Content-Length:', 'Transfer-Encoding: chunked\r\nContent-Length:'),
        (s: string) => s.replace('Content-Length:', 'Transfer-Encoding: chunked, identity\r\nContent-Length:'),
        (s: string) => s.replace('HTTP/1.1', 'HTTP/9.9'),
        (s: string) => s.replace('POST', 'P\u0000ST'),
        (s: string) => s.replace(/\r\n/g, '\n'),
        (s: string) => s.replace('Host:', 'Host : '),
        (s: string) => `${s}GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n`,
        (s: string) => s.replace(/Content-Length: \d+/, 'Content-Length: -1'),
        (s: string) => s.replace(/Content-Length: \d+/, 'Content-Length: 99999999999999999999'),
        (s: string) => s.replace('Authorization:', `X-Long: ${'a'.repeat(20_000)}\r\nAuthorization:`),
      ),
    )
    const counts = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const raw = mutations.reduce((s, m) => m(s), valid(okBody))
        const answers = await rawExchange(raw)
        counts.set(answers.length === 0 ? 'closed' : String(answers[0]!.status), (counts.get(answers.length === 0 ? 'closed' : String(answers[0]!.status)) ?? 0) + 1)
        for (const a of answers) checkAnswer(a, JSON.stringify(raw.slice(0, 300)))
      }),
      { numRuns: RAW_RUNS, seed: 7, endOnFailure: true },
    )
    expect(server.alive()).toBe(true)
    expect((await send('GET', '/health', {}, undefined)).status).toBe(200)
    recordFigures('fuzz: malformed HTTP', { requests: RAW_RUNS, answers: [...counts.entries()].sort().map(([s, n]) => `${s}:${n}`).join(' ') })
  }, 300_000)
})

/**
 * Writes raw bytes on a new connection and parses the answers: done when the server closes it, or
 * once what came in parses as complete answers and nothing more arrives for a moment.
 */
function rawExchange(raw: string): Promise<Answer[]> {
  return new Promise((resolve) => {
    const socket = connect(Number(base.port), base.hostname)
    const chunks: Buffer[] = []
    let idle: NodeJS.Timeout | undefined
    const finish = (): void => {
      clearTimeout(limit)
      clearTimeout(idle)
      socket.destroy()
      resolve(parseAnswers(Buffer.concat(chunks).toString('latin1')))
    }
    const limit = setTimeout(finish, 5000)
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      clearTimeout(idle)
      const text = Buffer.concat(chunks).toString('latin1')
      if (parseAnswers(text).length > 0 && complete(text)) idle = setTimeout(finish, 150)
    })
    socket.on('error', finish)
    socket.on('close', finish)
    socket.write(Buffer.from(raw, 'latin1'))
  })
}

/** Whether a byte stream of answers ends exactly at the end of the last answer. */
function complete(text: string): boolean {
  let rest = text
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n')
    if (headEnd < 0) return false
    const length = Number(/^content-length: *(\d+)/im.exec(rest.slice(0, headEnd))?.[1] ?? 0)
    if (rest.length < headEnd + 4 + length) return false
    rest = rest.slice(headEnd + 4 + length)
  }
  return rest.length === 0
}

function parseAnswers(text: string): Answer[] {
  const answers: Answer[] = []
  let rest = text
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n')
    if (headEnd < 0) break
    const head = rest.slice(0, headEnd)
    const headers: IncomingHttpHeaders = {}
    for (const line of head.split('\r\n').slice(1)) {
      const i = line.indexOf(':')
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    answers.push({ status: Number(head.split(' ')[1]), headers, body: rest.slice(headEnd + 4, headEnd + 4 + length) })
    rest = rest.slice(headEnd + 4 + length)
  }
  return answers
}

/** A connection that writes `first`, then one byte of `rest` every `everyMs`; resolves with what happened. */
function slowClient(first: string, rest: string, everyMs: number): Promise<{ closedAfterMs: number; answer: Answer | undefined; bytesSent: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const socket: Socket = connect(Number(base.port), base.hostname)
    const chunks: Buffer[] = []
    let sent = 0
    let timer: NodeJS.Timeout | undefined
    socket.on('connect', () => {
      if (first !== '') socket.write(first)
      sent = first.length
      timer = setInterval(() => {
        if (sent - first.length < rest.length && socket.writable) socket.write(rest[sent++ - first.length]!)
      }, everyMs)
    })
    socket.on('data', (c: Buffer) => chunks.push(c))
    const done = (): void => {
      clearInterval(timer)
      resolve({ closedAfterMs: performance.now() - t0, answer: parseAnswers(Buffer.concat(chunks).toString('latin1'))[0], bytesSent: sent })
    }
    socket.on('error', () => socket.destroy())
    socket.on('close', done)
  })
}

describe('requests without a body', () => {
  it('answers a POST with no body and no Content-Type (curl -X POST) with 400 on every POST endpoint', async () => {
    for (const path of Object.keys(bodies)) {
      for (const headers of [{}, { 'content-length': '0' }, { 'content-type': 'application/json' }]) {
        const a = await send('POST', path, { authorization: `Bearer ${ADMIN_KEY}`, ...headers }, undefined)
        expect(a.status, `${path} ${JSON.stringify(headers)}: ${a.body}`).toBe(400)
        expect(JSON.parse(a.body).error).toEqual({ code: 'MORSEL_REQUEST_INVALID', message: 'The request body is empty; send a JSON object.' })
      }
    }
  })
})

describe('slow clients and oversized requests', () => {
  const read = JSON.stringify({ features: ['zipcode_features:city'], entities: { zipcode: [76104] } })
  const bound = CLIENT_TIMEOUT_MS * 4

  it('cuts off a client that sends its headers a byte at a time (slowloris) with 408', async () => {
    const r = await slowClient('POST /get-online-features HTTP/1.1\r\nHost: x\r\n', 'X-Slow: ' + 'a'.repeat(1000), 100)
    expect(r.answer?.status).toBe(408)
    checkAnswer(r.answer!, 'slowloris')
    expect(JSON.parse(r.answer!.body).error.code).toBe('MORSEL_REQUEST_TIMEOUT')
    expect(r.closedAfterMs).toBeLessThan(bound)
    recordFigures('slow client: headers', { clientTimeoutMs: CLIENT_TIMEOUT_MS, closedAfterMs: round(r.closedAfterMs), bytesSent: r.bytesSent })
  })

  it('cuts off a client that sends its body a byte at a time with 408', async () => {
    const head = `POST /get-online-features HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${READER_KEY}\r\nContent-Length: ${read.length}\r\n\r\n`
    const r = await slowClient(head, read, 100)
    expect(r.answer?.status).toBe(408)
    expect(r.closedAfterMs).toBeLessThan(bound)
    recordFigures('slow client: body', { clientTimeoutMs: CLIENT_TIMEOUT_MS, closedAfterMs: round(r.closedAfterMs), bytesSent: r.bytesSent })
  })

  it('closes a connection that never sends anything', async () => {
    const r = await slowClient('', '', 1000)
    expect(r.closedAfterMs).toBeLessThan(bound)
    recordFigures('slow client: silent connection', { closedAfterMs: round(r.closedAfterMs) })
  })

  it('keeps serving everyone else while 200 slow clients hold connections, then closes them all', async () => {
    const slow = Array.from({ length: 200 }, () => slowClient('POST /get-online-features HTTP/1.1\r\nHost: x\r\n', 'X-Slow: ' + 'a'.repeat(1000), 250))
    const latencies: number[] = []
    const until = performance.now() + CLIENT_TIMEOUT_MS
    while (performance.now() < until) {
      const t0 = performance.now()
      const a = await send('POST', '/get-online-features', { authorization: `Bearer ${READER_KEY}` }, Buffer.from(read))
      latencies.push(performance.now() - t0)
      expect(a.status).toBe(200)
      expect(JSON.parse(a.body).results[1].values).toEqual(['FORT WORTH'])
    }
    const results = await Promise.all(slow)
    expect(results.every((r) => r.answer?.status === 408)).toBe(true)
    const lastClosed = Math.max(...results.map((r) => r.closedAfterMs))
    expect(lastClosed).toBeLessThan(bound * 2)
    recordFigures('slow clients: 200 at once', { served: latencies.length, p50Ms: round(quantile(latencies, 0.5)), p99Ms: round(quantile(latencies, 0.99)), lastClosedAfterMs: round(lastClosed) })
  })

  it('refuses a body over the limit with 413 and stops reading it, declared or chunked', async () => {
    for (const chunked of [false, true]) {
      const target = 256 * 2 ** 20
      const result = await new Promise<{ answer: Answer | undefined; sentBytes: number }>((resolve) => {
        const socket = connect(Number(base.port), base.hostname)
        const received: Buffer[] = []
        let sentBytes = 0
        let finished = false
        const finish = (): void => {
          if (finished) return
          finished = true
          socket.destroy()
          resolve({ answer: parseAnswers(Buffer.concat(received).toString('latin1'))[0], sentBytes })
        }
        socket.on('data', (c: Buffer) => received.push(c))
        socket.on('error', finish)
        socket.on('close', finish)
        const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${target}`
        socket.write(`POST /push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`)
        const piece = Buffer.alloc(64 * 1024, 0x20)
        const framed = chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece
        // One piece per turn of the event loop, reading answers in between, as an HTTP client does.
        const pump = (): void => {
          if (finished || sentBytes >= target) return
          sentBytes += piece.length
          if (socket.write(framed)) setImmediate(pump)
          else socket.once('drain', pump)
        }
        pump()
        setTimeout(finish, 20_000)
      })
      // The server answers 413 and closes. A client that keeps sending may see the close as a
      // reset before it reads the answer (the kernel drops unread data on a reset), so the answer,
      // when it arrived, must be the 413; either way far less than the 256 MB went out.
      if (result.answer !== undefined) {
        expect(result.answer.status, JSON.stringify(result.answer)).toBe(413)
        expect(JSON.parse(result.answer.body).error.code).toBe('MORSEL_PAYLOAD_TOO_LARGE')
      }
      expect(result.sentBytes).toBeLessThan(64 * 2 ** 20)
      recordFigures(`oversized body (${chunked ? 'chunked' : 'declared'})`, { limitBytes: MAX_BODY, clientSentMb: round(result.sentBytes / 2 ** 20), answered413: result.answer !== undefined })
    }
    expect(server.alive()).toBe(true)
  })

  it('refuses headers over 16 KiB with 431 in Morsel’s form', async () => {
    const answers = await rawExchange(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(40_000)}\r\n\r\n`)
    expect(answers[0]?.status).toBe(431)
    checkAnswer(answers[0]!, 'headers too large')
  })
})
