import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFeatureServer } from '../../src/server/start-feature-server.js'
import { get, makeTestRepo, startTestServer, type TestServer } from '../support/server-harness.js'
import { uniqueProject } from '../support/temp-repo.js'

const READER_KEY = 'console-reader-key-5d1c7a9e'
const VIEWS_ONLY_KEY = 'profile-only-key-3b8e2f6a0c'

/** A small app: reads a feature service through the store it is given, behind the server's access control. */
const HELLO_APP = `
import type { FastifyInstance } from 'fastify'
import { MorselError } from 'morsel'
import type { ServerAppContext } from 'morsel/server'

export async function registerApp(app: FastifyInstance, ctx: ServerAppContext): Promise<void> {
  app.get('/api/hello', { onRequest: ctx.auth.onRequest }, async (request) => {
    ctx.auth.check(request, 'read_online', [{ kind: 'feature_service', name: 'zipcode_service' }])
    const res = await ctx.store.getOnlineFeatures({ featureService: 'zipcode_service', entityRows: [{ zipcode: 76104 }] })
    return { path: ctx.path, options: ctx.options, principal: ctx.auth.principal(request).name, auth: ctx.auth.type, city: res.value('city') }
  })
  // Thrown with the running Morsel's error class: the server answers it as its own errors.
  app.get('/missing', async () => {
    throw new MorselError('MORSEL_NOT_FOUND', 'Nothing here.')
  })
}
`

const APP_FILES = { 'app/hello.ts': HELLO_APP, '.morselignore': 'app/\n' }
const APPS_YAML = '  apps:\n    - path: /hello\n      module: app/hello.ts\n      options: { greeting: hi }\n'

describe('server apps (feature_server.apps)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer({ files: APP_FILES, featureServer: APPS_YAML })
  })
  afterAll(async () => s?.close())

  it("mounts the module under its path, with the server's store, its options and no access control", async () => {
    const res = await get(`${s.url}/hello/api/hello`)
    expect(res.status, res.text).toBe(200)
    expect(res.body).toEqual({ path: '/hello', options: { greeting: 'hi' }, principal: 'anonymous', auth: 'none', city: 'FORT WORTH' })
  })

  it("answers the app's MorselErrors like the server's own (the app imports the running Morsel)", async () => {
    const res = await get(`${s.url}/hello/missing`)
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ error: { code: 'MORSEL_NOT_FOUND', message: 'Nothing here.' } })
  })

  it("counts the app's reads in the server's metrics", async () => {
    const served = async (): Promise<number> => Number(/morsel_feature_values_served_total\{feature_view="zipcode_features",status="PRESENT"\} (\d+)/.exec((await get(`${s.url}/metrics`)).text)?.[1] ?? 0)
    const before = await served()
    await get(`${s.url}/hello/api/hello`)
    // zipcode_service has four features.
    expect(await served()).toBe(before + 4)
  })
})

describe('server apps and the console behind access control', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer({
      files: APP_FILES,
      featureServer: `${APPS_YAML}  auth:
    type: api_key
    api_keys:
      - principal: reader
        key: ${READER_KEY}
      - principal: profile-only
        key: ${VIEWS_ONLY_KEY}
  permissions:
    - name: read-zipcodes
      principals: [reader]
      actions: [read_online]
      resources:
        feature_services: [zipcode_service]
        feature_views: [zipcode_features]
    - name: read-profiles
      principals: [profile-only]
      actions: [read_online]
      resources:
        feature_views: [profile]`,
    })
  })
  afterAll(async () => s?.close())

  it('asks the app caller for credentials, then applies the permissions', async () => {
    const none = await get(`${s.url}/hello/api/hello`)
    expect(none.status).toBe(401)
    expect(none.body.error.code).toBe('MORSEL_UNAUTHENTICATED')
    const reader = await get(`${s.url}/hello/api/hello`, { authorization: `Bearer ${READER_KEY}` })
    expect(reader.status, reader.text).toBe(200)
    expect(reader.body).toMatchObject({ principal: 'reader', auth: 'api_key', city: 'FORT WORTH' })
    const other = await get(`${s.url}/hello/api/hello`, { 'x-api-key': VIEWS_ONLY_KEY })
    expect(other.status).toBe(403)
    expect(other.body.error.message).toContain("feature service 'zipcode_service'")
  })

  it("serves the console's page without credentials (it holds no data) and its API only with them", async () => {
    const page = await get(`${s.url}/console/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'")
    for (const path of ['overview', 'registry', 'freshness', 'timeseries', 'lookup?zipcode=76104']) {
      const denied = await get(`${s.url}/console/api/${path}`)
      expect(denied.status, path).toBe(401)
      const allowed = await get(`${s.url}/console/api/${path}`, { authorization: `Bearer ${READER_KEY}` })
      expect(allowed.status, `${path}: ${allowed.text}`).toBe(200)
    }
    const overview = await get(`${s.url}/console/api/overview`, { authorization: `Bearer ${READER_KEY}` })
    expect(overview.body).toMatchObject({ project: s.project, auth: 'api_key', principal: 'reader', apps: ['/hello'] })
  })

  it('reads in a lookup only the views the caller may read, and says why the others were not', async () => {
    const reader = await get(`${s.url}/console/api/lookup?zipcode=76104&dob_ssn=19630621_4278`, { authorization: `Bearer ${READER_KEY}` })
    expect(reader.status, reader.text).toBe(200)
    expect(reader.body.views.map((v: { view: string }) => v.view)).toEqual(['zipcode_features'])
    const skipped = Object.fromEntries(reader.body.skipped.map((x: { view: string; reason: string }) => [x.view, x.reason]))
    expect(skipped.credit_history).toContain("lacks permission read_online on feature view 'credit_history'")
    expect(skipped.loan_ratios).toContain('on-demand')
    const profile = await get(`${s.url}/console/api/lookup?dob_ssn=19630621_4278`, { authorization: `Bearer ${VIEWS_ONLY_KEY}` })
    expect(profile.body.views.map((v: { view: string }) => v.view)).toEqual(['profile'])
    const values = Object.fromEntries(profile.body.views[0].values.map((v: { name: string; value: unknown }) => [v.name, v.value]))
    // Bytes as base64, times as RFC 3339, lists as lists.
    expect(values).toEqual({ photo: 'AQL/', tags: ['a', 'b'], last_login: '2024-01-01T00:00:00.000Z', score: 0.5, active: true })
  })
})

describe('the console API', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startTestServer()
  })
  afterAll(async () => s?.close())

  it('describes the registry as the snapshot has it', async () => {
    const res = await get(`${s.url}/console/api/registry`)
    expect(res.status).toBe(200)
    const snap = await s.store.registry.snapshot()
    expect(res.body.registryVersion).toBe(snap.version)
    expect(res.body.entities.map((e: { name: string }) => e.name).sort()).toEqual([...snap.entities.keys()].sort())
    expect(res.body.featureViews.map((v: { name: string }) => v.name).sort()).toEqual([...snap.featureViews.keys()].sort())
    const credit = res.body.featureViews.find((v: { name: string }) => v.name === 'credit_history')
    expect(credit).toMatchObject({ entities: ['dob_ssn'], ttlSeconds: 0, source: { kind: 'push', name: 'credit_history_push' }, featureServices: ['credit_model_v1'], onDemandFeatureViews: ['loan_ratios'] })
    expect(credit.features.map((f: { name: string }) => f.name)).toEqual(snap.getFeatureView('credit_history').features.map((f) => f.name))
    const odfv = res.body.onDemandFeatureViews[0]
    expect(odfv.udfSource).toBe(snap.onDemandFeatureViews.get('loan_ratios')?.udfSource)
    expect(res.body.featureServices.find((x: { name: string }) => x.name === 'credit_model_v1').projections.map((p: { view: string; kind: string }) => `${p.view}:${p.kind}`)).toEqual([
      'zipcode_features:featureView',
      'credit_history:featureView',
      'loan_ratios:onDemand',
    ])
  })

  it('refuses lookups without keys, with unknown keys or with values of the wrong type, and reads NOT_FOUND for unknown entities', async () => {
    const none = await get(`${s.url}/console/api/lookup`)
    expect(none.status).toBe(400)
    expect(none.body.error.message).toContain('Give a value for at least one join key')
    const typo = await get(`${s.url}/console/api/lookup?zipcod=76104`)
    expect(typo.status).toBe(400)
    expect(typo.body.error.message).toContain("Did you mean 'zipcode'")
    const wrong = await get(`${s.url}/console/api/lookup?zipcode=abc`)
    expect(wrong.status).toBe(400)
    expect(wrong.body.error.code).toBe('MORSEL_ENTITY_KEY_INVALID')
    const unknown = await get(`${s.url}/console/api/lookup?zipcode=99999`)
    expect(unknown.status).toBe(200)
    expect(unknown.body.views[0].values.every((v: { status: string; value: unknown }) => v.status === 'NOT_FOUND' && v.value === null)).toBe(true)
  })

  it('redirects /console to /console/ and answers unknown API paths with 404', async () => {
    const res = await fetch(`${s.url}/console?x=1`, { redirect: 'manual' })
    expect(res.status).toBe(301)
    expect(res.headers.get('location')).toBe('/console/?x=1')
    const missing = await get(`${s.url}/console/api/nothing`)
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('MORSEL_NOT_FOUND')
  })
})

describe('server apps that cannot be mounted, and a console turned off', () => {
  const start = async (files: Record<string, string>, yaml: string) => {
    const repo = await makeTestRepo(uniqueProject('apps'), { files: { '.morselignore': 'app/\n', ...files }, featureServer: yaml })
    return startFeatureServer({ repoPath: repo, port: 0, handleSignals: false, logLevel: 'silent' })
  }

  it.each([
    ['a module that does not exist', {}, '`feature_server.apps[0].module` app/nothing.ts: no such file', 'MORSEL_CONFIG_INVALID'],
    ['a module without registerApp', { 'app/nothing.ts': 'export const x = 1\n' }, 'exports no function `registerApp`', 'MORSEL_REPO_INVALID'],
    ['a module that does not compile', { 'app/nothing.ts': 'export function registerApp( {\n' }, 'Could not load the app module app/nothing.ts', 'MORSEL_REPO_INVALID'],
    [
      'an app whose registerApp throws',
      { 'app/nothing.ts': "export function registerApp() { throw new Error('no database') }\n" },
      'The app at /nothing (app/nothing.ts) failed to register: no database',
      'MORSEL_REPO_INVALID',
    ],
  ])('refuses to start with %s, naming it', async (_what, files, message, code) => {
    const err = await start(files, '  apps:\n    - path: /nothing\n      module: app/nothing.ts\n').then(
      async (server) => {
        await server.close()
        throw new Error('expected the server not to start')
      },
      (e: unknown) => e as { code: string; message: string },
    )
    expect(err.code).toBe(code)
    expect(err.message).toContain(message)
  })

  it('serves no console when `console.enabled` is false', async () => {
    const server = await start({}, '  console:\n    enabled: false\n')
    try {
      expect((await get(`${server.urls.base}/console/`)).status).toBe(404)
      expect((await get(`${server.urls.base}/console/api/overview`)).status).toBe(404)
      expect((await get(`${server.urls.base}/health`)).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe('morsel serve with apps', () => {
  it("prints the console's and the apps' URLs, and serves them", async () => {
    const repo = await makeTestRepo(uniqueProject('apps_cli'), { files: APP_FILES, featureServer: APPS_YAML })
    const bin = resolve(import.meta.dirname, '../../bin/morsel.js')
    const proc = spawn(process.execPath, [bin, 'serve', '-c', repo, '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const closed = new Promise<number | null>((done) => proc.on('close', (code) => done(code)))
    try {
      await expect.poll(() => err, { timeout: 30_000 }).toMatch(/App +http:\/\/\S+\/hello\//)
      const base = /Console +(http:\/\/\S+)\/console\//.exec(err)?.[1]
      expect(base, err).toBeDefined()
      expect(err).toContain(`App      ${base}/hello/`)
      expect((await get(`${base}/console/`)).status).toBe(200)
      const missing = await get(`${base}/hello/missing`)
      expect(missing.body).toEqual({ error: { code: 'MORSEL_NOT_FOUND', message: 'Nothing here.' } })
    } finally {
      proc.kill('SIGTERM')
    }
    expect(await closed).toBe(0)
  })
})
