import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { redactCredentials } from '../../src/server/redact-credentials.js'
import { MORSEL_BIN } from '../support/fault-support.js'
import { startRedis, type RedisServer } from '../support/redis-servers.js'
import { get, makeTestRepo, post, writeSampleRows, type HttpAnswer } from '../support/server-harness.js'
import { uniqueProject } from '../support/temp-repo.js'

/**
 * `morsel serve` in its own process with real secrets: an ACL user's password for a private Redis
 * (in a redis:// URL, where it must be percent-encoded) and an HMAC secret for JWTs. Normal
 * requests and every kind of failure are driven through it (a wrong Redis password at start, Redis
 * going down and coming back, bad tokens, bad bodies, a 5xx), and nothing it writes (stdout,
 * stderr) or answers (every body) may hold a secret, as given, percent-encoded, base64 or hex.
 * (`feature_server.tls` takes no key passphrase, so there is none to leak.)
 */

const ISSUER = 'https://auth.example.com'
// '/' and ':' make the percent-encoded form differ from the plain one.
const REDIS_PASSWORD = `rp/${randomBytes(9).toString('hex')}:Zq`
const WRONG_PASSWORD = `wp/${randomBytes(9).toString('hex')}:Zq`
const ADMIN_PASSWORD = randomBytes(12).toString('hex')
const JWT_SECRET = `jwt-${randomBytes(18).toString('hex')}`
const OTHER_SECRET = `jwt-${randomBytes(18).toString('hex')}`

/** Every form a secret could take in a log line or a body. */
function forms(secret: string): string[] {
  const bytes = Buffer.from(secret)
  return [secret, encodeURIComponent(secret), encodeURI(secret), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), JSON.stringify(secret).slice(1, -1)]
}

const FAILING_ODFV = `
import { OnDemandFeatureView, RequestSource, types } from 'morsel'
const probe = new RequestSource({ name: 'probe_request', schema: { probe: types.Int64 } })
export const broken = new OnDemandFeatureView({
  name: 'broken', sources: [probe], schema: { out: types.Int64 },
  udf: () => { throw new Error('model cache unreadable') },
})
`

interface Served {
  readonly child: ChildProcess
  readonly url: Promise<string>
  readonly exited: Promise<number | null>
  stdout(): string
  stderr(): string
  stop(): Promise<void>
}

/** `morsel serve` with the given environment; its whole output is kept. */
function serve(repo: string, env: NodeJS.ProcessEnv): Served {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests.')
  const child = spawn(process.execPath, [MORSEL_BIN, '-c', repo, 'serve', '--port', '0', '--log-level', 'debug'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const url = new Promise<string>((done, fail) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString()
      const m = /POST (https?:\/\/[^\s]+)\/get-online-features/.exec(err)
      if (m !== null) done(m[1]!)
    })
    void exited.then((code) => fail(new Error(`morsel serve exited with ${code}:\n${err}`)))
  })
  url.catch(() => undefined)
  return {
    child,
    url,
    exited,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

describe('secrets never reach logs or answers (morsel serve in its own process, private Redis with an ACL user)', () => {
  let redis: RedisServer
  let repo: string
  const envFor = (password: string): NodeJS.ProcessEnv => ({
    ...process.env,
    REDIS_URL: `redis://morsel:${encodeURIComponent(password)}@127.0.0.1:${redis.port}`,
    JWT_SECRET,
  })
  const captured: Array<{ what: string; text: string }> = []
  const keep = (what: string, res: HttpAnswer): HttpAnswer => {
    captured.push({ what, text: `${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${res.text}` })
    return res
  }
  const token = (claims: Record<string, unknown>, secret = JWT_SECRET, exp: number | string = '10m') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience('morsel').setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(secret))

  beforeAll(async () => {
    redis = await startRedis({
      name: 'secrets',
      conf: ['user default off', `user admin on >${ADMIN_PASSWORD} ~* &* +@all`, `user morsel on >${REDIS_PASSWORD} ~* &* +@all`],
    })
    repo = await makeTestRepo(uniqueProject('sec'), {
      onlineStore: 'online_store:\n  type: redis\n  connection_string: ${REDIS_URL}\n  connect_timeout_ms: 1000\n  command_timeout_ms: 1000\n',
      featureServer: `  auth:
    type: jwt
    jwt:
      algorithms: [HS256]
      secret: \${JWT_SECRET}
      issuer: ${ISSUER}
      audience: morsel`,
      files: { 'broken.ts': FAILING_ODFV },
    })
    const setup = await FeatureStore.open({ repoPath: repo, env: envFor(REDIS_PASSWORD) })
    await setup.apply()
    await writeSampleRows(setup)
    await setup.close()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('refuses to start with a wrong Redis password, saying so without either password', async () => {
    const s = serve(repo, envFor(WRONG_PASSWORD))
    const code = await s.exited
    captured.push({ what: 'wrong password: stdout', text: s.stdout() }, { what: 'wrong password: stderr', text: s.stderr() })
    expect(code).not.toBe(0)
    expect(s.stderr()).toContain('MORSEL_STORE_AUTH')
    expect(s.stderr()).toContain("user 'morsel'")
  })

  it('refuses a connection string it cannot parse without quoting it (the password not percent-encoded, a bad path)', async () => {
    for (const url of [`redis://morsel:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`, `redis://morsel:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${redis.port}/x`, `127.0.0.1:${redis.port},password=${REDIS_PASSWORD},bogus=1`]) {
      const s = serve(repo, { ...envFor(REDIS_PASSWORD), REDIS_URL: url })
      const code = await s.exited
      captured.push({ what: `bad url: stdout`, text: s.stdout() }, { what: `bad url: stderr`, text: s.stderr() })
      expect(code, s.stderr()).not.toBe(0)
      expect(s.stderr()).toContain('connection_string')
    }
  })

  it('serves, fails and recovers without writing or answering a secret', async () => {
    const s = serve(repo, envFor(REDIS_PASSWORD))
    try {
      const base = await s.url
      const read = { features: ['zipcode_features:city'], entities: { zipcode: [76104] } }
      const good = await token({ sub: 'alice' })
      const auth = { authorization: `Bearer ${good}` }

      expect(keep('read', await post(`${base}/get-online-features`, read, auth)).status).toBe(200)
      expect(keep('ready', await get(`${base}/ready`)).status).toBe(200)
      keep('health', await get(`${base}/health`))
      keep('metrics', await get(`${base}/metrics`))
      expect(keep('console overview', await get(`${base}/console/api/overview`, auth)).status).toBe(200)
      keep('console registry', await get(`${base}/console/api/registry`, auth))

      // Bad credentials of every kind.
      const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')
      const claims = Buffer.from(JSON.stringify({ sub: 'alice', iss: ISSUER, aud: 'morsel', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')
      for (const [what, headers] of [
        ['no token', {}],
        ['other secret', { authorization: `Bearer ${await token({ sub: 'alice' }, OTHER_SECRET)}` }],
        ['expired', { authorization: `Bearer ${await token({ sub: 'alice' }, JWT_SECRET, Math.floor(Date.now() / 1000) - 3600)}` }],
        ['alg none', { authorization: `Bearer ${none}.${claims}.` }],
        ['garbage', { authorization: 'Bearer not.a.token' }],
        ['the secret as a token', { authorization: `Bearer ${JWT_SECRET}` }],
        ['basic', { authorization: `Basic ${Buffer.from(`morsel:${REDIS_PASSWORD}`).toString('base64')}` }],
      ] as const) {
        expect(keep(what, await post(`${base}/get-online-features`, read, headers)).status).toBe(401)
      }

      // Credentials where they do not belong: the query string (refused, and not copied into the access log).
      for (const query of [`api_key=${encodeURIComponent(JWT_SECRET)}`, `password=${encodeURIComponent(REDIS_PASSWORD)}&x=1`, `x=1&Access%5FToken=${JWT_SECRET}`]) {
        expect(keep(`query ${query}`, await post(`${base}/get-online-features?${query}`, read)).status).toBe(401)
      }

      // Bad bodies.
      for (const body of ['{not json', '[]', JSON.stringify({ features: 'x', entities: {} }), JSON.stringify({ nope: 1 }), JSON.stringify({ features: ['nope:x'], entities: { zipcode: [1] } })]) {
        expect(keep(`body ${body}`, await post(`${base}/get-online-features`, body, auth)).status).toBeGreaterThanOrEqual(400)
      }
      // A 500: an on-demand function that throws.
      expect(keep('500', await post(`${base}/get-online-features`, { features: ['broken:out'], entities: { probe: [1] } }, auth)).status).toBe(500)
      // A failed materialization, polled.
      keep('materialize', await post(`${base}/materialize`, { start_ts: '2024-01-01T00:00:00Z', end_ts: '2023-01-01T00:00:00Z' }, auth))

      // Redis goes down: 503s, not ready, the console's detail, reconnect attempts in the log.
      await redis.stop()
      expect(keep('read while down', await post(`${base}/get-online-features`, read, auth)).status).toBe(503)
      expect(keep('push while down', await post(`${base}/push`, { push_source_name: 'credit_history_push', df: { dob_ssn: ['x'], event_timestamp: [new Date().toISOString()], credit_card_due: [1], mortgage_due: [1], missed_payments_1y: [0] } }, auth)).status).toBeGreaterThanOrEqual(500)
      expect(keep('ready while down', await get(`${base}/ready`)).status).toBe(503)
      keep('metrics while down', await get(`${base}/metrics`))
      keep('console while down', await get(`${base}/console/api/overview`, auth))
      await sleep(2500)
      keep('console later', await get(`${base}/console/api/overview`, auth))

      // Back up: served again.
      await redis.restart()
      let again = await post(`${base}/get-online-features`, read, auth)
      for (let i = 0; i < 150 && again.status !== 200; i++) {
        await sleep(100)
        again = await post(`${base}/get-online-features`, read, auth)
      }
      expect(keep('read after', again).status).toBe(200)
      expect(s.stdout()).toContain('"level":50')
    } finally {
      await s.stop()
      captured.push({ what: 'serve: stdout', text: s.stdout() }, { what: 'serve: stderr', text: s.stderr() })
    }
  })

  it('holds no secret in anything captured', async () => {
    expect(captured.length).toBeGreaterThan(20)
    const leaks: string[] = []
    for (const [name, secret] of [
      ['Redis password', REDIS_PASSWORD],
      ['wrong Redis password', WRONG_PASSWORD],
      ['Redis admin password', ADMIN_PASSWORD],
      ['JWT secret', JWT_SECRET],
      ['the other JWT secret', OTHER_SECRET],
    ] as const) {
      for (const form of forms(secret)) {
        for (const c of captured) {
          const at = c.text.indexOf(form)
          if (at !== -1) leaks.push(`${name} (as ${form}) in ${c.what}: …${c.text.slice(Math.max(0, at - 200), at + form.length + 50)}…`)
        }
      }
    }
    expect(leaks).toEqual([])
  })
})

describe('redactCredentials (applied to every error the server logs)', () => {
  it('takes the password out of URLs and Feast connection strings, leaving the rest', () => {
    expect(redactCredentials('Cannot parse redis://morsel:s3cr%2Ft@10.0.0.5:6379/0 now')).toBe('Cannot parse redis://[redacted]@10.0.0.5:6379/0 now')
    expect(redactCredentials('rediss://:s3cret@a:1,rediss://:s3cret@b:2')).toBe('rediss://[redacted]@a:1,rediss://[redacted]@b:2')
    expect(redactCredentials("10.0.0.5:6379,ssl=true,password=s3cret,username=morsel, sentinel_password = x'")).toBe("10.0.0.5:6379,ssl=true,password=[redacted],username=morsel, sentinel_password = [redacted]'")
    expect(redactCredentials('Redis at 127.0.0.1:6379 refused user morsel')).toBe('Redis at 127.0.0.1:6379 refused user morsel')
  })
})
