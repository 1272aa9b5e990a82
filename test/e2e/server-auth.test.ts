import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
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
