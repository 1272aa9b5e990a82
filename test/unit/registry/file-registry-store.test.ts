import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isMorselError } from '../../../src/errors/index.js'
import { FileRegistryStore } from '../../../src/registry/file/file-registry-store.js'
import { Registry } from '../../../src/registry/registry.js'
import { addInterval, emptyDocument, emptyProject, type RegistryDocument } from '../../../src/registry/registry-document.js'

const dir = (): string => mkdtempSync(join(tmpdir(), 'morsel-reg-'))
const doc = (version: number, projects: RegistryDocument['projects'] = {}): RegistryDocument => ({
  ...emptyDocument(),
  version,
  versionId: `v${version}`,
  projects,
})

describe('file registry store', () => {
  it('loads nothing before the first save, then exactly what was saved, keeping a backup', async () => {
    const path = join(dir(), 'sub', 'registry.json')
    const store = new FileRegistryStore(path)
    expect(await store.load()).toBeNull()
    await store.save(doc(1), 0)
    expect((await store.load())?.version).toBe(1)
    await store.save(doc(2, { p: emptyProject('2024-01-01T00:00:00.000Z') }), 1)
    expect(Object.keys((await store.load())?.projects ?? {})).toEqual(['p'])
    expect(JSON.parse(readFileSync(`${path}.bak`, 'utf8')).version).toBe(1)
    expect(existsSync(`${path}.lock`)).toBe(false)
  })

  it('refuses a save made against an older version and leaves the file untouched', async () => {
    const path = join(dir(), 'registry.json')
    const a = new FileRegistryStore(path)
    const b = new FileRegistryStore(path)
    await a.save(doc(1), 0)
    await a.save(doc(2), 1)
    const err = await b.save(doc(2, { lost: emptyProject('x') }), 1).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_REGISTRY_CONFLICT')).toBe(true)
    expect((err as Error).message).toMatch(/another apply or materialization committed first/)
    expect((await a.load())?.projects).toEqual({})
  })

  it('lets exactly one of many concurrent writers win each version', async () => {
    const path = join(dir(), 'registry.json')
    const stores = Array.from({ length: 8 }, () => new FileRegistryStore(path))
    await stores[0]!.save(doc(1), 0)
    const results = await Promise.allSettled(stores.map((s, i) => s.save(doc(2, { [`w${i}`]: emptyProject('x') }), 1)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect(isMorselError((r).reason, 'MORSEL_REGISTRY_CONFLICT')).toBe(true)
    }
    expect(Object.keys((await stores[0]!.load())?.projects ?? {})).toHaveLength(1)
  })

  it('waits for a live lock holder, then times out naming the lock', async () => {
    const path = join(dir(), 'registry.json')
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), at: 'now' }))
    const store = new FileRegistryStore(path, { lockTimeoutMs: 150 })
    const err = await store.save(doc(1), 0).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_REGISTRY_LOCKED')).toBe(true)
    expect((err as Error).message).toContain(`${path}.lock`)
  })

  it('takes over a lock whose owner process is gone', async () => {
    const path = join(dir(), 'registry.json')
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), at: 'then' }))
    await new FileRegistryStore(path, { lockTimeoutMs: 2000 }).save(doc(1), 0)
    expect(existsSync(`${path}.lock`)).toBe(false)
  })

  it('reports a corrupt file with the way out, and an unwritable folder clearly', async () => {
    const d = dir()
    const path = join(d, 'registry.json')
    writeFileSync(path, '{"formatVersion": 1, "version": ')
    const err = await new FileRegistryStore(path).load().catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_REGISTRY_CORRUPT')).toBe(true)
    expect((err as Error).message).toMatch(/Restore it from .*registry\.json\.bak/)
    writeFileSync(path, '{"some": "other json"}')
    expect(isMorselError(await new FileRegistryStore(path).load().catch((e: unknown) => e), 'MORSEL_REGISTRY_CORRUPT')).toBe(true)

    // A path under a regular file cannot be created, even by root.
    const blocker = join(dir(), 'not-a-folder')
    writeFileSync(blocker, 'x')
    const e = await new FileRegistryStore(join(blocker, 'registry.json')).save(doc(1), 0).catch((x: unknown) => x)
    expect(isMorselError(e, 'MORSEL_REGISTRY_IO')).toBe(true)
    expect((e as Error).message).toContain('Could not create the registry folder')
  })
})

describe('registry', () => {
  it('refuses a commit made against definitions another apply changed, but not one made against history', async () => {
    const path = join(dir(), 'registry.json')
    const r1 = new Registry(new FileRegistryStore(path), 'p')
    const r2 = new Registry(new FileRegistryStore(path), 'p')
    const s0 = await r1.snapshot()
    expect([s0.version, s0.isEmpty, s0.definitionsId]).toEqual([0, true, ''])
    await r2.commit((d) => ({ ...d, projects: { p: { ...emptyProject('t'), definitionsId: 'defs-1' } } }), { expectedDefinitionsId: '' })
    const err = await r1.commit((d) => d, { expectedDefinitionsId: '' }).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_REGISTRY_CONFLICT')).toBe(true)
    expect((err as Error).message).toMatch(/definitions of project 'p'.*another apply or teardown committed first/)
    // A materialization recording history moves the version, not the definitions: an apply still fits.
    await r2.commit((d) => ({ ...d, projects: { p: { ...d.projects.p!, materializations: { v: { intervals: [] } } } } }))
    const applied = await r1.commit((d) => ({ ...d, projects: { p: { ...d.projects.p!, definitionsId: 'defs-2' } } }), { expectedDefinitionsId: 'defs-1' })
    expect(applied.version).toBe(3)
    expect(Object.keys(applied.state?.materializations ?? {})).toEqual(['v'])
  })

  it('never goes back to an older version, and prepares a snapshot before serving it', async () => {
    const path = join(dir(), 'registry.json')
    const reader = new Registry(new FileRegistryStore(path), 'p')
    const prepared: number[] = []
    reader.setPreparer(
      async (next) => {
        prepared.push(next.version)
        expect(reader.current()?.version ?? -1).toBeLessThan(next.version)
      },
      (err) => {
        throw err
      },
    )
    await reader.snapshot()
    await reader.commit((d) => ({ ...d, projects: { p: emptyProject('t') } }))
    await reader.commit((d) => d)
    expect(reader.current()?.version).toBe(2)
    expect(prepared).toEqual([0, 1, 2])
    expect((await reader.refresh()).version).toBe(2)

    // A read that started before a commit finished answers with the older document.
    const answers = [5, 3]
    const racing = new Registry(
      {
        kind: 'test',
        location: 'memory',
        load: async () => ({ ...emptyDocument(), version: answers.shift() ?? 5, versionId: 'x' }),
        save: async () => undefined,
        delete: async () => undefined,
      },
      'p',
    )
    expect((await racing.refresh()).version).toBe(5)
    expect((await racing.refresh()).version).toBe(5)
  })

  it('retries additive commits on conflict so that none is lost', async () => {
    const path = join(dir(), 'registry.json')
    const registries = Array.from({ length: 5 }, () => new Registry(new FileRegistryStore(path), 'p'))
    await registries[0]!.commit((d) => ({ ...d, projects: { p: emptyProject('t') } }))
    await Promise.all(
      registries.map((r, i) =>
        r.commit((d) => {
          const p = d.projects.p!
          return { ...d, projects: { p: { ...p, materializations: { ...p.materializations, [`v${i}`]: { intervals: [] } } } } }
        }),
      ),
    )
    const final = await registries[0]!.refresh()
    expect(Object.keys(final.state?.materializations ?? {}).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
    expect(final.version).toBe(6)
  })

  it('notifies listeners when a refresh finds a new version', async () => {
    const path = join(dir(), 'registry.json')
    const reader = new Registry(new FileRegistryStore(path), 'p')
    await reader.snapshot()
    const seen: number[] = []
    reader.onChange((s) => seen.push(s.version))
    await new Registry(new FileRegistryStore(path), 'p').commit((d) => d)
    await reader.refresh()
    await reader.refresh()
    expect(seen).toEqual([1])
  })

  it('merges materialization intervals that overlap or touch', () => {
    const a = addInterval([], { start: '2024-01-01T00:00:00.000Z', end: '2024-01-02T00:00:00.000Z' })
    const b = addInterval(a, { start: '2024-01-03T00:00:00.000Z', end: '2024-01-04T00:00:00.000Z' })
    expect(b).toHaveLength(2)
    const c = addInterval(b, { start: '2024-01-02T00:00:00.000Z', end: '2024-01-03T00:00:00.000Z' })
    expect(c).toEqual([{ start: '2024-01-01T00:00:00.000Z', end: '2024-01-04T00:00:00.000Z' }])
  })
})
