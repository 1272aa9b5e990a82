import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseRepoConfig } from '../../../src/config/load-config.js'
import { isMorselError } from '../../../src/errors/index.js'
import { ANONYMOUS, type Principal } from '../../../src/server/auth/authenticator.js'
import { PermissionPolicy, globToRegExp } from '../../../src/server/auth/permission-policy.js'
import { checkExposure, isLoopback } from '../../../src/server/create-server.js'
import type { FeatureServerConfig } from '../../../src/server/feature-server-config.js'

const where = { repoPath: '/repo', configPath: '/repo/feature_store.yaml', env: { LOAN_KEY: 'loan-app-key-0123456789' } }
const parse = (serverYaml: string) => parseRepoConfig(`project: p\nregistry: r.json\nfeature_server:\n${serverYaml}\n`, where).featureServer

function configError(serverYaml: string): string {
  try {
    parse(serverYaml)
  } catch (err) {
    if (isMorselError(err, 'MORSEL_CONFIG_INVALID')) return err.message
    throw err
  }
  throw new Error('expected a config error')
}

describe('feature_server config', () => {
  it('defaults to loopback, port 6566, no auth, and Feast-like limits', () => {
    const c = parseRepoConfig('project: p\nregistry: r.json\n', where).featureServer
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 6566,
      auth: { type: 'none' },
      limits: { maxBodyBytes: 1_048_576, maxEntitiesPerRequest: 1000, maxRowsPerWrite: 10_000, requestTimeoutMs: 5000, clientTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000 },
      shutdownTimeoutMs: 10_000,
      metrics: { enabled: true, storeStatsIntervalSeconds: 15 },
    })
    expect(c.tls).toBeUndefined()
    expect(c.permissions).toBeUndefined()
  })

  it('resolves paths against the repository and keeps only hashes of API keys', () => {
    const c = parse(`  tls:\n    cert_file: tls/c.pem\n    key_file: /abs/k.pem\n  auth:\n    type: api_key\n    api_keys:\n      - principal: app\n        key: \${LOAN_KEY}\n        roles: [r]`)
    expect(c.tls).toEqual({ certFile: '/repo/tls/c.pem', keyFile: '/abs/k.pem' })
    expect(c.auth).toEqual({ type: 'api_key', apiKeys: [{ principal: 'app', keySha256: createHash('sha256').update('loan-app-key-0123456789').digest('hex'), roles: ['r'] }] })
    expect(JSON.stringify(c)).not.toContain('loan-app-key-0123456789')
  })

  it('names what is wrong', () => {
    expect(configError('  prot: 1')).toContain("Did you mean 'port'")
    expect(configError('  auth:\n    type: api_key\n    api_keys:\n      - principal: a\n        key: short')).toContain('at least 16 characters')
    expect(configError('  auth:\n    type: api_key\n    api_keys:\n      - principal: a')).toContain('exactly one of `key` and `key_sha256`')
    expect(configError('  auth:\n    type: jwt\n    jwt:\n      algorithms: [RS256]\n      secret: 0123456789abcdef0123456789abcdef\n      issuer: i\n      audience: a')).toContain(
      '`secret` goes with HS* algorithms only',
    )
    expect(configError('  auth:\n    type: oidc')).toContain('feature_server.auth')
    expect(configError('  permissions:\n    - name: x\n      actions: [read]')).toContain('feature_server.permissions.0.actions.0')
  })
})

describe('exposure', () => {
  const none = parse('  host: 127.0.0.1')
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopback(h), h).toBe(false)
  })
  it('refuses auth none beyond loopback only', () => {
    expect(() => checkExposure('127.0.0.1', none)).not.toThrow()
    expect(() => checkExposure('0.0.0.0', none)).toThrow(/`feature_server.auth.type`/)
    const keyed: FeatureServerConfig = { ...none, auth: { type: 'api_key', apiKeys: [] } }
    expect(() => checkExposure('0.0.0.0', keyed)).not.toThrow()
  })
})

describe('PermissionPolicy', () => {
  const alice: Principal = { name: 'alice', roles: ['reader'], via: 'jwt' }
  const svc: Principal = { name: 'svc-ingest', roles: [], via: 'api_key' }
  const policy = new PermissionPolicy(
    [
      { name: 'read-credit', roles: ['reader'], actions: ['read_online'], resources: { featureViews: ['credit_*'], featureServices: ['credit_model'] } },
      { name: 'ingest', principals: ['svc-*'], actions: ['write_online', 'write_offline'], resources: { projects: ['credit'] } },
      { name: 'everyone-zip', actions: ['read_online'], resources: { featureViews: ['zipcode_features'] } },
    ],
    'credit',
  )
  const fv = (name: string) => ({ kind: 'feature_view' as const, name })

  it('grants by role, principal pattern, action and resource kind', () => {
    expect(policy.denial(alice, 'read_online', [fv('credit_history'), fv('zipcode_features')])).toBeUndefined()
    expect(policy.denial(alice, 'read_online', [{ kind: 'feature_service', name: 'credit_model' }])).toBeUndefined()
    expect(policy.denial(svc, 'write_offline', [fv('anything')])).toBeUndefined()
    expect(policy.denial(svc, 'write_online', [])).toBeUndefined()
    expect(policy.denial(ANONYMOUS, 'read_online', [fv('zipcode_features')])).toBeUndefined()
  })

  it('denies naming the first resource not granted', () => {
    const d = policy.denial(alice, 'read_online', [fv('credit_history'), fv('profile')])
    expect(d?.code).toBe('MORSEL_FORBIDDEN')
    expect(d?.message).toContain("Principal 'alice' lacks permission read_online on feature view 'profile' in project 'credit'")
    expect(d?.details).toMatchObject({ permission: 'read_online', resource: { kind: 'feature_view', name: 'profile' } })
    expect(policy.denial(alice, 'materialize', [fv('credit_history')])?.message).toContain('materialize')
    expect(policy.denial(svc, 'read_online', [fv('credit_history')])).toBeDefined()
    const otherProject = new PermissionPolicy([{ name: 'x', actions: ['read_online'], resources: { projects: ['other'] } }], 'credit')
    expect(otherProject.denial(alice, 'read_online', [fv('a')])?.message).toContain("project 'credit'")
  })

  it('allows everything without a permissions list', () => {
    const open = new PermissionPolicy(undefined, 'credit')
    expect(open.enabled).toBe(false)
    expect(open.denial(alice, 'materialize', [fv('x')])).toBeUndefined()
  })

  it('matches glob patterns literally apart from *', () => {
    expect(globToRegExp('credit_*').test('credit_history')).toBe(true)
    expect(globToRegExp('credit_*').test('xcredit_history')).toBe(false)
    expect(globToRegExp('a.b').test('axb')).toBe(false)
    expect(globToRegExp('*').test('')).toBe(true)
  })
})
