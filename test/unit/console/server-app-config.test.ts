import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadRepoConfig, parseRepoConfig } from '../../../src/config/load-config.js'
import { MorselError } from '../../../src/errors/index.js'

const where = { repoPath: '/repo', configPath: '/repo/feature_store.yaml', env: {} }
const ROOT = resolve(import.meta.dirname, '../../..')

function rejected(yaml: string): MorselError {
  try {
    parseRepoConfig(`project: p\nregistry: data/registry.json\n${yaml}`, where)
  } catch (err) {
    expect(err).toBeInstanceOf(MorselError)
    return err as MorselError
  }
  throw new Error('expected the config to be rejected')
}

describe('feature_server.apps and feature_server.console', () => {
  it('resolves app modules against the repository and keeps their options; the console is on by default', () => {
    const c = parseRepoConfig(
      'project: p\nregistry: data/registry.json\nfeature_server:\n  apps:\n    - path: /loan\n      module: app/loan-app.ts\n    - path: /tools/x\n      module: /abs/x.ts\n      options: { title: X, n: 2 }\n',
      where,
    )
    expect(c.featureServer.apps).toEqual([
      { path: '/loan', module: '/repo/app/loan-app.ts', options: {} },
      { path: '/tools/x', module: '/abs/x.ts', options: { title: 'X', n: 2 } },
    ])
    expect(c.featureServer.console).toEqual({ enabled: true, sampleIntervalMs: 1000, historySeconds: 600 })
    const none = parseRepoConfig('project: p\nregistry: data/registry.json\n', where)
    expect(none.featureServer.apps).toEqual([])
  })

  it.each([
    ['a path without its slash', '    - path: loan\n      module: a.ts\n', 'feature_server.apps.0.path'],
    ['a trailing slash', '    - path: /loan/\n      module: a.ts\n', 'no trailing slash'],
    ['a prefix the server answers itself', '    - path: /console/mine\n      module: a.ts\n', 'which the feature server answers itself'],
    ['the metrics path', '    - path: /metrics\n      module: a.ts\n', 'which the feature server answers itself'],
    ['the same prefix twice', '    - path: /loan\n      module: a.ts\n    - path: /Loan\n      module: b.ts\n', 'is given twice'],
    ['no module', '    - path: /loan\n', 'feature_server.apps.0.module'],
    ['an unknown key', '    - path: /loan\n      module: a.ts\n      modul: b.ts\n', 'modul'],
  ])('refuses %s', (_what, apps, message) => {
    const err = rejected(`feature_server:\n  apps:\n${apps}`)
    expect(err.code).toBe('MORSEL_CONFIG_INVALID')
    expect(err.message).toContain(message)
  })

  it('refuses a console sample interval below 100 ms', () => {
    const err = rejected('feature_server:\n  console:\n    sample_interval_ms: 10\n')
    expect(err.message).toContain('sample_interval_ms')
  })

  it("the credit-scoring example's loan page is an app whose module exists", () => {
    const c = loadRepoConfig({ repoPath: join(ROOT, 'examples/credit-scoring'), env: {} })
    expect(c.featureServer.apps).toEqual([{ path: '/loan', module: join(ROOT, 'examples/credit-scoring/app/loan-app.ts'), options: {} }])
    expect(existsSync(c.featureServer.apps![0]!.module)).toBe(true)
  })
})
