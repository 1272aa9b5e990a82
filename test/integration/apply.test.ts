import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FeatureStore, isMorselError } from '../../src/index.js'
import { csv, makeRepo } from '../support/temp-repo.js'

const YAML = 'project: apply_test\nregistry: data/registry.json\n'
const ROWS = csv(['event_timestamp', 'zipcode', 'city', 'population'], [['2024-01-15T00:00:00Z', 76104, 'FORT WORTH', 54839]])
const HEAD = `import { Entity, FeatureService, FeatureView, FileSource, types } from 'morsel'\n`
const ENTITY = `export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })\n`
const SOURCE = `const src = new FileSource({ name: 'zips', path: 'data/zips.csv', timestampField: 'event_timestamp' })\n`
const view = (schema = '{ city: types.String, population: types.Int64 }', extra = '') =>
  `export const zipcodeFeatures = new FeatureView({ name: 'zipcode_features', entities: [zipcode], source: src, schema: ${schema}${extra} })\n`

async function applyError(files: Record<string, string>): Promise<Error & { code: string }> {
  const dir = makeRepo({ 'feature_store.yaml': YAML, 'data/zips.csv': ROWS, ...files })
  const store = await FeatureStore.open(dir)
  try {
    await store.apply()
  } catch (err) {
    expect(isMorselError(err)).toBe(true)
    return err as Error & { code: string }
  } finally {
    await store.close()
  }
  throw new Error('expected apply to fail')
}

describe('apply', () => {
  it('registers, reports no change on re-apply, updates and deletes', async () => {
    const dir = makeRepo({ 'feature_store.yaml': YAML, 'data/zips.csv': ROWS, 'features.ts': HEAD + ENTITY + SOURCE + view() })
    const store = await FeatureStore.open(dir)
    const first = await store.apply()
    expect(first.plan.items.filter((i) => i.action === 'register').map((i) => `${i.kind} ${i.name}`)).toEqual([
      'entity zipcode',
      'data source zips',
      'feature view zipcode_features',
    ])
    expect(first.version).toBe(1)
    const again = await store.apply()
    expect(again.plan.hasChanges).toBe(false)
    expect(again.version).toBe(1)

    writeFileSync(join(dir, 'features.ts'), HEAD + ENTITY + SOURCE + view('{ city: types.String }', ", ttl: { days: 1 }"))
    const updated = await store.apply()
    expect(updated.plan.items.find((i) => i.name === 'zipcode_features')).toMatchObject({
      action: 'update',
      changes: ['features: -population', 'ttlSeconds: 0 → 86400'],
    })

    writeFileSync(join(dir, 'features.ts'), HEAD + ENTITY)
    const deleted = await store.apply()
    expect(deleted.plan.items.filter((i) => i.action === 'delete').map((i) => i.name)).toEqual(['zips', 'zipcode_features'])
    expect(deleted.clearedOnlineViews).toEqual(['zipcode_features'])
    const doc = JSON.parse(readFileSync(join(dir, 'data/registry.json'), 'utf8'))
    expect(Object.keys(doc.projects.apply_test.featureViews)).toEqual([])
    await store.close()
  })

  it('names an entity a view uses but the repository does not define', async () => {
    const err = await applyError({ 'features.ts': HEAD + ENTITY.replace('export const', 'const') + SOURCE + view() })
    expect(err.code).toBe('MORSEL_DEFINITION_INVALID')
    expect(err.message).toMatch(/Feature view 'zipcode_features' uses entity 'zipcode', which is not defined in the repository/)
  })

  it('refuses two different definitions under one name, naming both files', async () => {
    const err = await applyError({
      'a.ts': HEAD + ENTITY + SOURCE + view(),
      'b.ts': HEAD + ENTITY.replace('zipcode =', 'zip2 =') + SOURCE + view('{ city: types.String }').replace('zipcodeFeatures', 'other').replace('[zipcode]', '[zip2]'),
    })
    expect(err.message).toMatch(/Two different feature views are named 'zipcode_features' \(in a\.ts and b\.ts\)/)
  })

  it('names a missing source file', async () => {
    const err = await applyError({ 'features.ts': HEAD + ENTITY + SOURCE.replace('zips.csv', 'nope.csv') + view() })
    expect(err.code).toBe('MORSEL_SOURCE_INVALID')
    expect(err.message).toMatch(/reads data\/nope\.csv, which does not exist/)
  })

  it('names a declared column absent from the source, and one of another type', async () => {
    const err = await applyError({ 'features.ts': HEAD + ENTITY + SOURCE + view('{ city: types.Int64, populaton: types.Int64 }') })
    expect(err.code).toBe('MORSEL_SOURCE_INVALID')
    expect(err.message).toMatch(/2 problems/)
    expect(err.message).toMatch(/column 'city' is VARCHAR in the source, but 'city' is declared Int64/)
    expect(err.message).toMatch(/column 'populaton' .* is not in the source\. Did you mean 'population'\?/)
  })

  it('reports a negative ttl with the file that declares it', async () => {
    const err = await applyError({ 'features.ts': HEAD + ENTITY + SOURCE + view(undefined, ', ttl: -5') })
    expect(err.code).toBe('MORSEL_DEFINITION_INVALID')
    expect(err.message).toMatch(/^features\.ts: FeatureView 'zipcode_features': ttl must not be negative/)
  })

  it('names a feature service member the repository does not define', async () => {
    const err = await applyError({
      'features.ts': HEAD + ENTITY + SOURCE + view().replace('export const zipcodeFeatures', 'const zipcodeFeatures') + `export const svc = new FeatureService({ name: 'svc', features: [zipcodeFeatures.select(['city'])] })\n`,
    })
    expect(err.message).toMatch(/Feature service 'svc' includes 'zipcode_features', which is not a feature view of the repository/)
  })

  it('explains a definition file that does not load', async () => {
    const err = await applyError({ 'features.ts': `${HEAD}export const x = (\n` })
    expect(err.code).toBe('MORSEL_REPO_INVALID')
    expect(err.message).toMatch(/Could not load features\.ts/)
    expect(err.message).toMatch(/\.morselignore/)
  })

  it('commits nothing when validation fails', async () => {
    const dir = makeRepo({ 'feature_store.yaml': YAML, 'data/zips.csv': ROWS, 'features.ts': HEAD + ENTITY + SOURCE + view('{ nope: types.Int64 }') })
    const store = await FeatureStore.open(dir)
    await expect(store.apply()).rejects.toThrow(/nope/)
    await store.close()
    expect(() => readFileSync(join(dir, 'data/registry.json'))).toThrow()
    rmSync(dir, { recursive: true, force: true })
  })
})

describe('apply and the online store', () => {
  it('records the removal of deleted views’ online data and completes it on the next apply when it failed', async () => {
    const { createSqliteOnlineStore } = await import('../../src/online/sqlite/sqlite-online-store.js')
    const dir = makeRepo({ 'feature_store.yaml': YAML, 'data/zips.csv': ROWS, 'features.ts': HEAD + ENTITY + SOURCE + view() })
    const sqlite = await createSqliteOnlineStore({ type: 'sqlite', path: 'data/online.db' }, { project: 'apply_test', repoPath: dir, entityKeySerializationVersion: 3 })
    // The real store, whose deletes fail once (the store being unreachable at that moment).
    let failures = 1
    const flaky = new Proxy(sqlite, {
      get(target, prop) {
        if (prop === 'deleteViews') {
          return async (views: Parameters<typeof sqlite.deleteViews>[0]) => {
            if (failures-- > 0) throw new Error('store unreachable')
            return target.deleteViews(views)
          }
        }
        const value: unknown = Reflect.get(target, prop, target)
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      },
    })
    const store = await FeatureStore.open({ repoPath: dir, onlineStore: flaky })
    await store.apply()
    await store.writeToOnlineStore('zipcode_features', [{ zipcode: 76104, event_timestamp: '2024-01-15T00:00:00Z', city: 'X', population: 1 }])

    writeFileSync(join(dir, 'features.ts'), HEAD + ENTITY)
    const failed = await store.apply()
    expect(failed.plan.items.some((i) => i.action === 'delete' && i.name === 'zipcode_features')).toBe(true)
    expect(failed.pendingOnlineViews).toEqual(['zipcode_features'])
    expect(failed.onlineCleanupError?.message).toContain('store unreachable')
    expect((await store.registry.snapshot()).state?.pendingOnlineDeletes?.map((p) => p.name)).toEqual(['zipcode_features'])
    const prepared = sqlite.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'zipcode_features', features: ['city'] }] }])
    const key = (await import('../../src/encoding/index.js')).serializeEntityKey([{ name: 'zipcode', valueType: 4 }], [76104], 3)
    expect((await sqlite.read(prepared, [[key]]))[0]?.[0]).not.toBeNull()

    const retried = await store.apply()
    expect(retried.plan.hasChanges).toBe(false)
    expect(retried.clearedOnlineViews).toEqual(['zipcode_features'])
    expect((await store.registry.snapshot()).state?.pendingOnlineDeletes).toEqual([])
    expect((await sqlite.read(prepared, [[key]]))[0]?.[0]).toBeNull()
    await store.close()
  })

  it('does not conflict with a materialization that committed meanwhile, only with another apply', async () => {
    const dir = makeRepo({ 'feature_store.yaml': YAML, 'data/zips.csv': ROWS, 'features.ts': HEAD + ENTITY + SOURCE + view() })
    const a = await FeatureStore.open(dir)
    await a.apply()
    const b = await FeatureStore.open(dir)
    await b.materialize({ start: new Date('2024-01-01T00:00:00Z'), end: new Date('2024-02-01T00:00:00Z') })
    writeFileSync(join(dir, 'features.ts'), HEAD + ENTITY + SOURCE + view(undefined, ', ttl: { days: 2 }'))
    const applied = await a.apply()
    expect(applied.plan.items.find((i) => i.name === 'zipcode_features')?.action).toBe('update')
    const history = (await a.registry.refresh()).materialization('zipcode_features')
    expect(history.intervals).toHaveLength(1)
    // b read the definitions before a changed them: its apply is refused.
    writeFileSync(join(dir, 'features.ts'), HEAD + ENTITY + SOURCE + view(undefined, ', ttl: { days: 3 }'))
    const err = await b.apply().catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_REGISTRY_CONFLICT')).toBe(true)
    await a.close()
    await b.close()
  })
})
