import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { SignJWT, exportSPKI, generateKeyPair, type CryptoKey } from 'jose'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore, isMorselError } from '../../src/index.js'
import { createServer } from '../../src/server/create-server.js'
import { ONLINE_STORE, get, post, startTestServer, makeTestRepo, type HttpAnswer, type TestServer } from '../support/server-harness.js'
import { uniqueProject } from '../support/temp-repo.js'

const LOAN_APP_KEY = 'loan-app-key-7f3a9c1e5b2d'
const INGEST_KEY = 'ingest-key-0a1b2c3d4e5f6a7b'
const OPS_KEY = 'ops-key-99887766554433221100'
const RATIOS_KEY = 'ratios-key-5e6f7a8b9c0d1e2f'
const JWT_SECRET = 'hs256-secret-for-tests-0123456789abcdef'
const ISSUER = 'https://auth.example.com'

const READ = { features: ['zipcode_features:city'], entities: { zipcode: [76104] } }
const READ_CREDIT = { features: ['credit_history:credit_card_due'], entities: { dob_ssn: ['19630621_4278'] } }
const READ_SERVICE = { feature_service: 'credit_model_v1', entities: { zipcode: [76104], dob_ssn: ['19630621_4278'] }, request_context: { loan_amnt: [1], person_income: [2] } }
const PUSH = (to: string) => ({
  push_source_name: 'credit_history_push',
  to,
  df: { dob_ssn: ['auth_test'], event_timestamp: [new Date().toISOString()], credit_card_due: [1], mortgage_due: [2], missed_payments_1y: [0] },
})
const WRITE_ZIP = { feature_view_name: 'zipcode_features', df: { zipcode: [1], event_timestamp: ['2024-01-01T00:00:00Z'], city: ['X'], state: ['Y'], population: [1], total_wages: [1] } }
const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` })

function expectDenied(res: HttpAnswer, status: 401 | 403, mentions: string[]): void {
  expect(res.status, res.text).toBe(status)
  expect(res.body.error.code).toBe(status === 401 ? 'MORSEL_UNAUTHENTICATED' : 'MORSEL_FORBIDDEN')
  for (const m of mentions) expect(res.body.error.message).toContain(m)
}

describe(`API keys and permissions (${ONLINE_STORE})`, () => {
  let s: TestServer
  const logs: string[] = []
  beforeAll(async () => {
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logs.push(chunk.toString())
          done()
        },
      }),
    )
    s = await startTestServer({
      env: { ...process.env, LOAN_APP_KEY },
      server: { logger },
      featureServer: `  auth:
    type: api_key
    api_keys:
      - principal: loan-app
        key: \${LOAN_APP_KEY}
        roles: [scoring]
      - principal: ingest
        key_sha256: ${createHash('sha256').update(INGEST_KEY).digest('hex')}
      - principal: ops
        key: ${OPS_KEY}
      - principal: ratios
        key: ${RATIOS_KEY}
  permissions:
    - name: scoring-reads
      roles: [scoring]
      actions: [read_online]
      resources:
        feature_services: ['credit_model_*']
        feature_views: [zipcode_features]
    - name: ingest-writes
      principals: ['ingest']
      actions: [write_online]
      resources:
        feature_views: ['credit_*']
    - name: ratios-only
      principals: [ratios]
      actions: [read_online]
      resources:
        feature_views: [loan_ratios, zipcode_features]
    - name: ops-everything
      principals: ['op*']
      actions: [read_online, write_online, write_offline, materialize]
      resources:
        projects: ['srv_*']`,
    })
  })
  afterAll(async () => s.close())

  it('asks for credentials (401) when none, a wrong one or a malformed header is sent', async () => {
    expectDenied(await post(`${s.url}/get-online-features`, READ), 401, ['API key'])
    expectDenied(await post(`${s.url}/get-online-features`, READ, bearer('not-a-key-at-all-0000')), 401, ['not valid'])
    expectDenied(await post(`${s.url}/get-online-features`, READ, { authorization: `Basic ${LOAN_APP_KEY}` }), 401, ['Bearer'])
  })

  it('lets a reader read what its role covers, by service or by view, with either header', async () => {
    expect((await post(`${s.url}/get-online-features`, READ_SERVICE, bearer(LOAN_APP_KEY))).status).toBe(200)
    expect((await post(`${s.url}/get-online-features`, READ, { 'x-api-key': LOAN_APP_KEY })).status).toBe(200)
  })

  it('denies what no permission grants with a 403 naming the permission and the resource', async () => {
    expectDenied(await post(`${s.url}/get-online-features`, READ_CREDIT, bearer(LOAN_APP_KEY)), 403, ['loan-app', 'read_online', "feature view 'credit_history'"])
    expectDenied(await post(`${s.url}/get-online-features`, { ...READ_SERVICE, feature_service: 'zipcode_service' }, bearer(LOAN_APP_KEY)), 403, ['read_online', "feature service 'zipcode_service'"])
    expectDenied(await post(`${s.url}/push`, PUSH('online'), bearer(LOAN_APP_KEY)), 403, ['write_online'])
    expectDenied(await post(`${s.url}/materialize-incremental`, { end_ts: '2024-01-01T00:00:00Z' }, bearer(LOAN_APP_KEY)), 403, ['materialize'])
  })

  it('checks the views an on-demand view reads from: a grant on the on-demand view alone is not enough (403)', async () => {
    const ratios = { features: ['loan_ratios:debt_to_income'], entities: { dob_ssn: ['19630621_4278'] }, request_context: { loan_amnt: [35000], person_income: [59000] } }
    const denied = await post(`${s.url}/get-online-features`, ratios, bearer(RATIOS_KEY))
    expectDenied(denied, 403, ["'ratios'", 'read_online', "feature view 'credit_history'"])
    expect(denied.text).not.toContain('1795')
    // Its other grant works, and a caller granted the source view too reads the on-demand view.
    expect((await post(`${s.url}/get-online-features`, READ, bearer(RATIOS_KEY))).status).toBe(200)
    const ops = await post(`${s.url}/get-online-features`, ratios, bearer(OPS_KEY))
    expect(ops.status, ops.text).toBe(200)
    const column = (ops.body.metadata.feature_names as string[]).indexOf('debt_to_income')
    expect(ops.body.results[column].values[0]).toBeCloseTo(101_795 / 59_000)
  })

  it('lets a writer push and write online, but not offline, not other views, not read', async () => {
    const pushed = await post(`${s.url}/push`, PUSH('online'), bearer(INGEST_KEY))
    expect(pushed.status, pushed.text).toBe(200)
    expect(pushed.body.feature_views.map((v: { name: string }) => v.name).sort()).toEqual(['credit_flags', 'credit_history'])
    expectDenied(await post(`${s.url}/push`, PUSH('both'), bearer(INGEST_KEY)), 403, ['write_offline', "feature view 'credit_"])
    expectDenied(await post(`${s.url}/write-to-online-store`, WRITE_ZIP, bearer(INGEST_KEY)), 403, ['write_online', "'zipcode_features'"])
    expectDenied(await post(`${s.url}/get-online-features`, READ, bearer(INGEST_KEY)), 403, ['read_online'])
    expectDenied(await post(`${s.url}/materialize`, { start_ts: '2024-01-01T00:00:00Z', end_ts: '2024-02-01T00:00:00Z' }, bearer(INGEST_KEY)), 403, ['materialize'])
  })

  it('lets a principal granted everything in this project do everything', async () => {
    expect((await post(`${s.url}/get-online-features`, READ_CREDIT, bearer(OPS_KEY))).status).toBe(200)
    expect((await post(`${s.url}/write-to-online-store`, WRITE_ZIP, bearer(OPS_KEY))).status).toBe(200)
    const mat = await post(`${s.url}/materialize`, { start_ts: '2023-12-01T00:00:00Z', end_ts: '2024-02-01T00:00:00Z', feature_views: ['profile'] }, bearer(OPS_KEY))
    expect(mat.status, mat.text).toBe(200)
  })

  it('keeps probes and metrics open', async () => {
    expect((await get(`${s.url}/health`)).status).toBe(200)
    expect((await get(`${s.url}/ready`)).status).toBe(200)
    expect((await get(`${s.url}/metrics`)).status).toBe(200)
  })

  it('writes no credential to the logs, but a line per request with its id and principal', () => {
    const text = logs.join('')
    expect(text).not.toContain(LOAN_APP_KEY)
    expect(text).not.toContain(INGEST_KEY)
    expect(text).not.toContain(OPS_KEY)
    expect(text).not.toContain(RATIOS_KEY)
    const lines = logs.map((l) => JSON.parse(l) as { msg: string; reqId?: string; principal?: string; status?: number })
    const granted = lines.find((l) => l.msg === 'request' && l.principal === 'loan-app' && l.status === 200)
    expect(granted?.reqId).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe(`JWT (${ONLINE_STORE})`, () => {
  let hs: TestServer
  let rs: TestServer
  let rsKey: CryptoKey
  const secret = new TextEncoder().encode(JWT_SECRET)
  const token = (claims: Record<string, unknown>, opts: { exp?: number | string; iss?: string; aud?: string; key?: Uint8Array | CryptoKey; alg?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
      .setIssuer(opts.iss ?? ISSUER)
      .setAudience(opts.aud ?? 'morsel')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '10m')
      .sign(opts.key ?? secret)

  beforeAll(async () => {
    const permissions = `  permissions:
    - name: readers
      roles: [reader]
      actions: [read_online]`
    hs = await startTestServer({
      env: { ...process.env, JWT_SECRET },
      featureServer: `  auth:
    type: jwt
    jwt:
      algorithms: [HS256]
      secret: \${JWT_SECRET}
      issuer: ${ISSUER}
      audience: morsel
${permissions}`,
    })
    const pair = await generateKeyPair('RS256', { extractable: true })
    rsKey = pair.privateKey
    rs = await startTestServer({
      files: { 'keys/jwt.pem': await exportSPKI(pair.publicKey) },
      featureServer: `  auth:
    type: jwt
    jwt:
      algorithms: [RS256]
      public_key_file: keys/jwt.pem
      issuer: ${ISSUER}
      audience: morsel
${permissions}`,
    })
  })
  afterAll(async () => {
    await hs?.close()
    await rs?.close()
  })

  it('accepts a valid HS256 token whose role grants the read', async () => {
    expect((await post(`${hs.url}/get-online-features`, READ, bearer(await token({ sub: 'alice', roles: ['reader'] })))).status).toBe(200)
    // A token naming this project is accepted; the same token is then served from the verified-token cache.
    const scoped = await token({ sub: 'alice', roles: 'reader admin', project: hs.project })
    expect((await post(`${hs.url}/get-online-features`, READ, bearer(scoped))).status).toBe(200)
    expect((await post(`${hs.url}/get-online-features`, READ, bearer(scoped))).status).toBe(200)
  })

  it('refuses an expired token, a bad signature, another issuer or audience, no subject (401)', async () => {
    const hourAgo = Math.floor(Date.now() / 1000) - 3600
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(await token({ sub: 'alice', roles: ['reader'] }, { exp: hourAgo }))), 401, ['expired'])
    expectDenied(
      await post(`${hs.url}/get-online-features`, READ, bearer(await token({ sub: 'alice', roles: ['reader'] }, { key: new TextEncoder().encode('another-secret-another-secret-000') }))),
      401,
      ['signature'],
    )
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(await token({ sub: 'alice', roles: ['reader'] }, { iss: 'https://evil.example.com' }))), 401, ['`iss`'])
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(await token({ sub: 'alice', roles: ['reader'] }, { aud: 'someone-else' }))), 401, ['`aud`'])
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(await token({ roles: ['reader'] }))), 401, ['`sub`'])
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer('not.a.jwt')), 401, ['not a valid JWT'])
    expectDenied(await post(`${hs.url}/get-online-features`, READ), 401, ['JWT'])
  })

  it('refuses a token without an expiry (401 saying so), and does not let a cached token outlive its exp', async () => {
    const noExp = await new SignJWT({ sub: 'alice', roles: ['reader'] }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience('morsel').setIssuedAt().sign(secret)
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(noExp)), 401, ['`exp`', 'expire'])
    // Valid for two more seconds past the 30 s tolerance: accepted (and cached), then refused once expired.
    const exp = Math.floor(Date.now() / 1000) - 30 + 2
    const shortLived = await token({ sub: 'alice', roles: ['reader'] }, { exp })
    expect((await post(`${hs.url}/get-online-features`, READ, bearer(shortLived))).status).toBe(200)
    while (Date.now() < (exp + 30) * 1000 + 1100) await new Promise((r) => setTimeout(r, 200))
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(shortLived)), 401, ['expired'])
  })

  it('refuses a token for another project (403)', async () => {
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(await token({ sub: 'alice', roles: ['reader'], project: 'other_project' }))), 403, ["'other_project'", `'${hs.project}'`])
  })

  it('denies a principal without the role (403 naming read_online)', async () => {
    expectDenied(await post(`${hs.url}/get-online-features`, READ, bearer(await token({ sub: 'mallory', roles: ['writer'] }))), 403, ["'mallory'", 'read_online'])
  })

  it('verifies RS256 with the configured public key, and only RS256', async () => {
    const good = await token({ sub: 'svc', roles: ['reader'] }, { alg: 'RS256', key: rsKey })
    expect((await post(`${rs.url}/get-online-features`, READ, bearer(good))).status).toBe(200)
    const otherPair = await generateKeyPair('RS256')
    expectDenied(await post(`${rs.url}/get-online-features`, READ, bearer(await token({ sub: 'svc', roles: ['reader'] }, { alg: 'RS256', key: otherPair.privateKey }))), 401, ['signature'])
    expectDenied(await post(`${rs.url}/get-online-features`, READ, bearer(await token({ sub: 'svc', roles: ['reader'] }))), 401, ['algorithm'])
  })
})

describe('access control and the listening address', () => {
  it('refuses to serve without access control on a non-loopback address, naming the setting', async () => {
    const project = uniqueProject('exp')
    const repo = await makeTestRepo(project)
    const store = await FeatureStore.open(repo)
    try {
      let err: unknown
      try {
        createServer(store, { host: '0.0.0.0' })
      } catch (e) {
        err = e
      }
      expect(isMorselError(err, 'MORSEL_CONFIG_INVALID')).toBe(true)
      expect((err as Error).message).toContain('`feature_server.auth.type`')
      expect((err as Error).message).toContain('0.0.0.0')
      expect(() => createServer(store, { host: '::1' }).close()).not.toThrow()
    } finally {
      await store.close()
    }
  })

  it('serves on all interfaces once API keys are required', async () => {
    const s = await startTestServer({
      host: '0.0.0.0',
      featureServer: `  auth:\n    type: api_key\n    api_keys:\n      - principal: app\n        key: ${LOAN_APP_KEY}`,
    })
    try {
      const port = new URL(s.url).port
      expect((await post(`http://127.0.0.1:${port}/get-online-features`, READ)).status).toBe(401)
      expect((await post(`http://127.0.0.1:${port}/get-online-features`, READ, bearer(LOAN_APP_KEY))).status).toBe(200)
    } finally {
      await s.close()
    }
  })

  it('reads a public key file only when it is a key, with a config error otherwise', async () => {
    const project = uniqueProject('key')
    const repo = await makeTestRepo(project, {
      featureServer: `  auth:\n    type: jwt\n    jwt:\n      algorithms: [RS256]\n      public_key_file: keys/missing.pem\n      issuer: x\n      audience: y`,
    })
    mkdirSync(join(repo, 'keys'), { recursive: true })
    writeFileSync(join(repo, 'keys/not-a-key.pem'), 'hello')
    const store = await FeatureStore.open(repo)
    try {
      expect(() => createServer(store)).toThrow(/public_key_file/)
    } finally {
      await store.close()
    }
  })
})

/** One request with the path sent byte for byte as given (fetch would normalize dots and case of nothing else). */
function raw(base: string, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const u = new URL(base)
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: Number(u.port),
        method,
        path,
        headers: { ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }), ...headers },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => {
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {
            parsed = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: new Headers(res.headers as Record<string, string>), body: parsed, text })
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')

describe(`auth bypass attempts (${ONLINE_STORE})`, () => {
  let s: TestServer
  let hs: TestServer
  const KEY = 'bypass-test-key-0123456789abcdef'
  const SECRET = new TextEncoder().encode(JWT_SECRET)
  const claims = { sub: 'alice', roles: ['reader'] }
  const sign = (c: Record<string, unknown>, exp: number | string = '10m') =>
    new SignJWT(c).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience('morsel').setIssuedAt().setExpirationTime(exp).sign(SECRET)

  beforeAll(async () => {
    s = await startTestServer({ featureServer: `  auth:\n    type: api_key\n    api_keys:\n      - principal: app\n        key: ${KEY}` })
    hs = await startTestServer({
      env: { ...process.env, JWT_SECRET },
      featureServer: `  auth:
    type: jwt
    jwt:
      algorithms: [HS256]
      secret: \${JWT_SECRET}
      issuer: ${ISSUER}
      audience: morsel
  permissions:
    - name: readers
      roles: [reader]
      actions: [read_online]`,
    })
  })
  afterAll(async () => {
    await s?.close()
    await hs?.close()
  })

  it('refuses a missing, expired, forged, unsigned (alg none) or other-project token', async () => {
    const url = `${hs.url}/get-online-features`
    expect((await post(url, READ, bearer(await sign(claims)))).status).toBe(200)
    expectDenied(await post(url, READ), 401, ['JWT'])
    expectDenied(await post(url, READ, bearer(await sign(claims, Math.floor(Date.now() / 1000) - 3600))), 401, ['expired'])
    // A valid token whose payload was changed (roles raised) keeps its old signature: it no longer verifies.
    const [h, , sig] = (await sign({ sub: 'mallory', roles: [] })).split('.')
    const raised = `${h}.${b64url({ sub: 'mallory', roles: ['reader', 'admin'], iss: ISSUER, aud: 'morsel', exp: Math.floor(Date.now() / 1000) + 600 })}.${sig}`
    expectDenied(await post(url, READ, bearer(raised)), 401, ['signature'])
    // Unsigned tokens, with and without a trailing signature part.
    const payload = b64url({ ...claims, iss: ISSUER, aud: 'morsel', exp: Math.floor(Date.now() / 1000) + 600 })
    for (const alg of ['none', 'None', 'NONE']) {
      const res = await post(url, READ, bearer(`${b64url({ alg, typ: 'JWT' })}.${payload}.`))
      expect(res.status, res.text).toBe(401)
      expect((await post(url, READ, bearer(`${b64url({ alg })}.${payload}`))).status).toBe(401)
    }
    // A token of the right issuer and audience for another project.
    expectDenied(await post(url, READ, bearer(await sign({ ...claims, project: 'another_project' }))), 403, ["'another_project'"])
    expectDenied(await post(url, READ, bearer(await sign({ ...claims, project: ['another_project', 'third'] }))), 403, ['another_project'])
  })

  it('never serves a protected endpoint without credentials, whatever the path looks like', async () => {
    const posts = [
      '/get-online-features',
      '/get%2Donline%2Dfeatures',
      '/%67et-online-features',
      '/get-online-features%2F',
      '//get-online-features',
      '///get-online-features',
      '/./get-online-features',
      '/get-online-features/',
      '/get-online-features/.',
      '/get-online-features//',
      '/GET-ONLINE-FEATURES',
      '/Get-Online-Features',
      '/x/../get-online-features',
      '/health/../get-online-features',
      '/health/..%2Fget-online-features',
      '/health%2F..%2Fget-online-features',
      '/console/api/../../get-online-features',
      '/get-online-features;jsessionid=1',
      '/get-online-features%00',
      '/get-online-features%20',
      '/get-online-features?',
      '/get-online-features?api_key=' + KEY,
      '/get-online-features?x-api-key=' + KEY + '&authorization=Bearer%20' + KEY,
      '/get-online-features?/health',
      '/get-online-features#/health',
      '/push',
      '/materialize',
      '/write-to-online-store/',
    ]
    const gets = ['/console/api/overview', '/console//api/overview', '/console/api/%6Fverview', '/CONSOLE/api/overview', '/console/api/overview/', '/console/./api/overview', '/metrics/../console/api/registry', '/materialize/jobs', '/materialize/jobs/..%2F..%2Fconsole%2Fapi%2Foverview']
    const routedToProtected: Array<[string, string]> = []
    for (const [method, paths] of [['POST', posts], ['GET', gets]] as const) {
      for (const path of paths) {
        const res = await raw(s.url, method, path, method === 'POST' ? READ : undefined)
        expect([400, 401, 403, 404], `${method} ${path}: ${res.status} ${res.text}`).toContain(res.status)
        expect(res.text, `${method} ${path}`).not.toContain('FORT WORTH')
        if (res.status === 401) routedToProtected.push([method, path])
      }
    }
    // What was asked for credentials is the protected handler itself: with the key it answers.
    for (const [method, path] of routedToProtected.filter(([, p]) => p.includes('online-features') || p.includes('overview'))) {
      const res = await raw(s.url, method, path, method === 'POST' ? READ : undefined, { 'x-api-key': KEY })
      expect([200, 400, 404], `${method} ${path} with the key: ${res.status} ${res.text}`).toContain(res.status)
    }
    expect(routedToProtected.some(([, p]) => p === '/get-online-features/')).toBe(true)
  })

  it('ignores headers that rewrite the path for proxies, and credentials in the query string', async () => {
    for (const h of ['x-original-url', 'x-rewrite-url', 'x-forwarded-uri', 'x-forwarded-path']) {
      const res = await raw(s.url, 'POST', '/get-online-features', READ, { [h]: '/health' })
      expect(res.status, `${h}: ${res.text}`).toBe(401)
    }
    const viaHealth = await raw(s.url, 'POST', '/health', READ, { 'x-original-url': '/get-online-features' })
    expect(viaHealth.text).not.toContain('FORT WORTH')
    expect((await raw(s.url, 'POST', `/get-online-features?api_key=${KEY}&key=${KEY}`, READ)).status).toBe(401)
    expect((await raw(s.url, 'POST', '/get-online-features', READ, { authorization: `Bearer ${KEY} ${KEY}` })).status).toBe(401)
    expect((await raw(s.url, 'POST', '/get-online-features', READ, { authorization: `Bearer ${KEY}x` })).status).toBe(401)
  })
})
