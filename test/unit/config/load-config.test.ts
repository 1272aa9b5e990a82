import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadRepoConfig, parseRepoConfig } from '../../../src/config/load-config.js'
import { substituteEnv } from '../../../src/config/env.js'
import { MorselError } from '../../../src/errors/index.js'

const where = { repoPath: '/repo', configPath: '/repo/feature_store.yaml', env: {} }

function parseError(text: string, env: NodeJS.ProcessEnv = {}): MorselError {
  try {
    parseRepoConfig(text, { ...where, env })
  } catch (err) {
    expect(err).toBeInstanceOf(MorselError)
    return err as MorselError
  }
  throw new Error('expected the config to be rejected')
}

describe('feature_store.yaml', () => {
  it('applies Feast defaults and makes paths absolute', () => {
    const c = parseRepoConfig('project: credit\nregistry: data/registry.json\n', where)
    expect(c.project).toBe('credit')
    expect(c.provider).toBe('local')
    expect(c.registry).toEqual({ registryType: 'file', path: '/repo/data/registry.json', cacheTtlSeconds: 60 })
    expect(c.onlineStore).toEqual({ type: 'sqlite', path: 'data/online.db' })
    expect(c.offlineStore).toEqual({ type: 'duckdb' })
    expect(c.entityKeySerializationVersion).toBe(3)
    expect(Object.isFrozen(c.registry)).toBe(true)
  })

  it('reads the registry object form, online store options and version 2 keys', () => {
    const c = parseRepoConfig(
      [
        'project: p',
        'provider: local',
        'registry:',
        '  path: /abs/reg.json',
        '  cache_ttl_seconds: 5',
        'online_store:',
        '  type: sqlite',
        '  path: online/x.db',
        'entity_key_serialization_version: 2',
      ].join('\n'),
      where,
    )
    expect(c.registry.path).toBe('/abs/reg.json')
    expect(c.registry.cacheTtlSeconds).toBe(5)
    expect(c.onlineStore).toEqual({ type: 'sqlite', path: 'online/x.db' })
    expect(c.entityKeySerializationVersion).toBe(2)
  })

  it('accepts the short string forms of stores', () => {
    const c = parseRepoConfig('project: p\nregistry: r.json\nonline_store: sqlite:other.db\noffline_store: duckdb\n', where)
    expect(c.onlineStore).toEqual({ type: 'sqlite', path: 'other.db' })
  })

  it('names a misspelt top-level key and suggests the right one', () => {
    const e = parseError('project: p\nregistry: r.json\nentity_key_serialisation_version: 3\n')
    expect(e.code).toBe('MORSEL_CONFIG_INVALID')
    expect(e.message).toContain('entity_key_serialisation_version: unknown key')
    expect(e.message).toContain("Did you mean 'entity_key_serialization_version'")
  })

  it('names a misspelt nested key with the keys allowed there', () => {
    const e = parseError('project: p\nregistry:\n  path: r.json\n  cache_ttl: 3\n')
    expect(e.message).toContain('registry.cache_ttl: unknown key')
    expect(e.message).toContain("'cache_ttl_seconds'")
    const e2 = parseError('project: p\nregistry: r.json\nonline_store:\n  type: sqlite\n  pth: x.db\n')
    expect(e2.message).toContain('online_store.pth: unknown key')
    expect(e2.message).toContain("Did you mean 'path'")
  })

  it('rejects an unknown store type, a bad version, a missing project and other providers', () => {
    expect(parseError('project: p\nregistry: r\nonline_store:\n  type: cassandra\n').message).toContain('online_store')
    expect(parseError('project: p\nregistry: r\nentity_key_serialization_version: 1\n').message).toContain('must be 3 (the default) or 2')
    expect(parseError('registry: r\n').message).toContain('project')
    expect(parseError('project: p\nregistry: r\nprovider: aws\n').message).toContain('provider: local')
    expect(parseError('project: p\n').message).toContain('registry')
  })

  it('rejects YAML that is not a mapping or has duplicate keys', () => {
    expect(parseError('- a\n- b\n').message).toContain('must be a YAML mapping')
    expect(parseError('project: a\nproject: b\nregistry: r\n').message).toContain('not valid YAML')
  })

  it('substitutes ${VAR} and ${VAR:-default} and names a missing variable', () => {
    const c = parseRepoConfig('project: ${PROJ}\nregistry: ${REG:-data/r.json}\n', { ...where, env: { PROJ: 'from_env' } })
    expect(c.project).toBe('from_env')
    expect(c.registry.path).toBe('/repo/data/r.json')
    const e = parseError('project: p\nregistry: ${MISSING_REGISTRY}\n')
    expect(e.message).toContain('MISSING_REGISTRY')
    expect(e.message).toContain('registry')
    expect(substituteEnv('a${X}b${Y:-y}', 'k', { X: '1' })).toBe('a1by')
  })

  it('accepts project names as Feast does: letters, digits, underscores and hyphens, not starting with _ or -', () => {
    for (const ok of ['credit-scoring', 'credit_scoring_v2', '2024-models', 'crédit']) {
      expect(parseRepoConfig(`project: ${ok}\nregistry: r\n`, where).project).toBe(ok)
    }
    for (const bad of ['-lead', '_lead', 'has space', 'dot.ted', 'slash/ed']) {
      expect(parseError(`project: "${bad}"\nregistry: r\n`).message).toContain('letters, digits, underscores and hyphens')
    }
  })

  it('reads a value that is one ${VAR} as a YAML scalar, so numbers and booleans keep their type', () => {
    const text = [
      'project: p',
      'registry:',
      '  path: data/r.json',
      '  cache_ttl_seconds: ${TTL}',
      'online_store:',
      '  type: redis',
      '  connection_string: ${REDIS:-127.0.0.1:6379}',
      '  password: ${REDIS_PASSWORD}',
      'feature_server:',
      '  port: ${PORT:-6570}',
      '  limits:',
      '    max_body_bytes: ${MAX_BODY}',
      'entity_key_serialization_version: ${EKSV:-2}',
      '',
    ].join('\n')
    // A password of digits reads as a number, but the schema wants text: it stays the text given.
    const c = parseRepoConfig(text, { ...where, env: { TTL: '30', REDIS_PASSWORD: '007123', MAX_BODY: '2048' } })
    expect(c.registry.cacheTtlSeconds).toBe(30)
    expect(c.entityKeySerializationVersion).toBe(2)
    expect(c.featureServer.port).toBe(6570)
    expect(c.featureServer.limits.maxBodyBytes).toBe(2048)
    expect(c.onlineStore).toMatchObject({ type: 'redis', password: '007123' })
    // Inside a longer string a variable is text, as before.
    expect(parseRepoConfig('project: p\nregistry: data/${N}.json\n', { ...where, env: { N: '12' } }).registry.path).toBe('/repo/data/12.json')
    expect(parseError('project: p\nregistry:\n  path: r\n  cache_ttl_seconds: ${TTL}\n', { TTL: 'soon' }).message).toContain('registry.cache_ttl_seconds')
  })

  it('explains a missing feature_store.yaml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'morsel-cfg-'))
    expect(() => loadRepoConfig({ repoPath: dir })).toThrow(/No feature_store.yaml .*morsel init/)
    writeFileSync(join(dir, 'feature_store.yaml'), 'project: here\nregistry: data/registry.json\n')
    expect(loadRepoConfig({ repoPath: dir }).registry.path).toBe(join(dir, 'data/registry.json'))
  })
})
