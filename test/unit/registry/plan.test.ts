import { describe, expect, it } from 'vitest'
import type { FeatureViewSpec } from '../../../src/definitions/specs.js'
import { applyPlanToState, computePlan, diffSpecs } from '../../../src/registry/plan.js'
import type { RepoContents } from '../../../src/repo/repo-contents.js'

const field = (name: string, dtype = 'Int64', valueType = 4) => ({ name, dtype, valueType, description: '', tags: {} })
const view = (name: string, keys: string[], features: string[], ttlSeconds = 0): FeatureViewSpec => ({
  name,
  entities: keys,
  entityColumns: keys.map((k) => field(k)),
  features: features.map((f) => field(f)),
  ttlSeconds,
  online: true,
  source: 'src',
  description: '',
  tags: {},
  owner: '',
})
const contents = (views: FeatureViewSpec[]): RepoContents => ({
  entities: [],
  dataSources: [],
  featureViews: views,
  onDemandFeatureViews: [],
  featureServices: [],
  udfs: new Map(),
  origins: new Map(),
})

describe('plan', () => {
  it('lists field-level changes readably', () => {
    expect(diffSpecs(view('v', ['k'], ['a', 'b'], 10), view('v', ['k'], ['b', 'c'], 20))).toEqual(['features: +c -a', 'ttlSeconds: 10 → 20'])
    expect(diffSpecs(view('v', ['k'], ['a']), view('v', ['k'], ['a']))).toEqual([])
  })

  it('marks deleted and re-keyed views as leaving stale online data, keeping history otherwise', () => {
    const now = '2024-01-01T00:00:00.000Z'
    const base = applyPlanToState(undefined, contents([view('kept', ['k'], ['a']), view('gone', ['k'], ['a']), view('rekeyed', ['k'], ['a'])]), now, '')
    const withHistory = {
      ...base,
      materializations: { kept: { intervals: [{ start: now, end: now }] }, rekeyed: { intervals: [{ start: now, end: now }] } },
    }
    const next = contents([view('kept', ['k'], ['a', 'b']), view('rekeyed', ['other'], ['a'])])
    const plan = computePlan('p', 7, withHistory, next)
    expect(plan.baseVersion).toBe(7)
    expect(plan.items.map((i) => `${i.action} ${i.name}`)).toEqual(['update kept', 'update rekeyed', 'delete gone'])
    expect(plan.staleOnlineViews.map((v) => v.name).sort()).toEqual(['gone', 'rekeyed'])
    const later = '2024-02-01T00:00:00.000Z'
    const state = applyPlanToState(withHistory, next, later, '')
    expect(Object.keys(state.materializations)).toEqual(['kept'])
    expect(state.featureViews.kept?.createdTimestamp).toBe(now)
    expect(state.featureViews.kept?.lastUpdatedTimestamp).toBe(later)
  })
})
