import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore, isMorselError } from '../../src/index.js'
import { FileRegistryStore } from '../../src/registry/file/file-registry-store.js'
import { emptyDocument, type RegistryDocument } from '../../src/registry/registry-document.js'
import { startFeatureServer } from '../../src/server/start-feature-server.js'
import { runSql } from '../support/duckdb-files.js'
import { filesIn, morsel, mountSmallDisk, recordFigures, type SmallDisk } from '../support/fault-support.js'
import { get, post } from '../support/server-harness.js'
import { makeRepo, uniqueProject } from '../support/temp-repo.js'

/**
 * Disks that fill up or turn read-only under the registry and the SQLite online store, a registry
 * file that is corrupt, source files that are not Parquet: each ends in a clear error, and nothing
 * is half-written (the registry, its backup and the online rows are as before, no lock or
 * temporary file is left to block the next run). The disks are real: small tmpfs mounts.
 */

const DEFS = (extra = '') => `import { Entity, FeatureView, FileSource, types } from 'morsel'
export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
export const zf = new FeatureView({
  name: 'zf', entities: [zipcode],
  source: new FileSource({ name: 'zs', path: 'data/z.parquet', timestampField: 'event_timestamp' }),
  schema: { city: types.String, population: types.Int64 },
})
${extra}`
const EXTRA_VIEW = `export const zf2 = new FeatureView({
  name: 'zf2', entities: [zipcode],
  source: new FileSource({ name: 'zs2', path: 'data/z.parquet', timestampField: 'event_timestamp' }),
  schema: { city: types.String },
})
`
const ROWS = 2000
const WINDOW = { start: new Date('2023-12-01T00:00:00Z'), end: new Date('2024-02-01T00:00:00Z') }

/** A repository whose registry (and, if asked, SQLite online store) live on `disk`. */
async function repoOn(disk: SmallDisk, options: { onlineOnDisk?: boolean } = {}): Promise<string> {
  const project = uniqueProject('disk')
  const online = options.onlineOnDisk === true ? `online_store:\n  type: sqlite\n  path: ${disk.dir}/online.db\n` : 'online_store:\n  type: sqlite\n  path: data/online.db\n'
  const repo = makeRepo({ 'feature_store.yaml': `project: ${project}\nregistry: ${disk.dir}/registry.json\n${online}`, 'features.ts': DEFS() })
  mkdirSync(join(repo, 'data'), { recursive: true })
  await runSql(
    `COPY (SELECT i::BIGINT AS zipcode, TIMESTAMPTZ '2024-01-01' + to_seconds(i) AS event_timestamp, 'city ' || i AS city, i::BIGINT AS population FROM range(${ROWS}) t(i)) TO '${join(repo, 'data/z.parquet')}' (FORMAT parquet)`,
  )
  return repo
}

const bytes = (path: string): string => readFileSync(path).toString('base64')

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const err = await promise.then(
    () => new Error(`expected ${code}, but it succeeded`),
    (e: unknown) => e as Error,
  )
  expect(isMorselError(err, code as never), err.message).toBe(true)
  return err
}

describe('a full disk under the registry', () => {
  let disk: SmallDisk
  beforeAll(() => {
    disk = mountSmallDisk(512 * 1024)
  })
  afterAll(() => disk?.unmount())

  it('fails apply with MORSEL_REGISTRY_IO saying the disk is full, changes nothing and leaves no lock; apply works once there is room', async () => {
    const repo = await repoOn(disk)
    const store = await FeatureStore.open(repo)
    try {
      expect((await store.apply()).version).toBe(1)
      const registry = join(disk.dir, 'registry.json')
      const before = bytes(registry)
      writeFileSync(join(repo, 'features.ts'), DEFS(EXTRA_VIEW))
      disk.fill(0)
      const started = Date.now()
      const err = await expectCode(store.apply(), 'MORSEL_REGISTRY_IO')
      expect(err.message).toContain('The disk is full')
      // A second attempt meets the same clear error at once, not a lock left behind by the first.
      const again = await expectCode(store.apply(), 'MORSEL_REGISTRY_IO')
      expect(again.message).toContain('ENOSPC')
      const failedMs = Date.now() - started
      expect(bytes(registry)).toBe(before)
      expect(filesIn(disk.dir)).toEqual(['registry.json'])

      disk.free()
      const applied = await store.apply()
      expect(applied.version).toBe(2)
      expect(applied.plan.items.filter((i) => i.action === 'register').map((i) => i.name).sort()).toEqual(['zf2', 'zs2'])
      expect(JSON.parse(readFileSync(`${registry}.bak`, 'utf8')).version).toBe(1)
      expect(filesIn(disk.dir)).toEqual(['registry.json', 'registry.json.bak'])
      recordFigures('disk: registry on a full disk', { failedAppliesMs: failedMs, leftoverFiles: 0 })
    } finally {
      disk.free()
      await store.close()
    }
  })

  it('keeps a complete backup when the disk fills while the registry grows', async () => {
    const path = join(disk.dir, 'grow', 'registry.json')
    const s = new FileRegistryStore(path, { lockTimeoutMs: 500 })
    const doc = (version: number, padding: number): RegistryDocument => ({ ...emptyDocument(), version, versionId: `v${version}`, projects: {}, padding: 'x'.repeat(padding) }) as RegistryDocument
    await s.save(doc(1, 100), 0)
    await s.save(doc(2, 40_000), 1)
    // Room for the new document, not for a second copy of the old one as the backup.
    disk.fill(48 * 1024)
    try {
      await s.save(doc(3, 40_000), 2)
      expect((await s.load())?.version).toBe(3)
      expect(JSON.parse(readFileSync(`${path}.bak`, 'utf8')).version).toBe(2)
      // And a document that no longer fits fails whole: registry and backup stay complete.
      disk.fill(0)
      await expectCode(s.save(doc(4, 40_000), 3), 'MORSEL_REGISTRY_IO')
      expect((await s.load())?.version).toBe(3)
      expect(JSON.parse(readFileSync(`${path}.bak`, 'utf8')).version).toBe(2)
      expect(filesIn(join(disk.dir, 'grow'))).toEqual(['registry.json', 'registry.json.bak'])
    } finally {
      disk.free()
    }
  })

  it('refuses to materialize without room for its lock, writes nothing online, and lets the next run start at once', async () => {
    const repo = await repoOn(disk)
    const store = await FeatureStore.open(repo)
    try {
      await store.apply()
      disk.fill(0)
      const err = await expectCode(store.materialize(WINDOW), 'MORSEL_REGISTRY_IO')
      expect(err.message).toMatch(/materialization lock .*ENOSPC/)
      expect(filesIn(disk.dir).filter((f) => f.includes('.lock'))).toEqual([])
      const online = await store.getOnlineFeatures({ features: ['zf:city'], entities: { zipcode: [0, 1999] } })
      expect(online.toRows().map((r) => r.city)).toEqual([null, null])
      disk.free()
      const run = await store.materialize(WINDOW)
      expect(run.views[0]!.written).toBe(ROWS)
    } finally {
      disk.free()
      await store.close()
    }
  })
})

describe('a full disk under the SQLite online store', () => {
  let disk: SmallDisk
  beforeAll(() => {
    disk = mountSmallDisk(1024 * 1024)
  })
  afterAll(() => disk?.unmount())

  it('fails writes whole with MORSEL_WRITE_FAILED and materialization without recording it, keeps every stored row, and accepts both once there is room', async () => {
    const repo = await repoOn(disk, { onlineOnDisk: true })
    const store = await FeatureStore.open(repo)
    try {
      await store.apply()
      await store.writeToOnlineStore('zf', [{ zipcode: 1, event_timestamp: '2023-01-01T00:00:00Z', city: 'before', population: 1 }])
      disk.fill(0)
      const rows = Array.from({ length: 500 }, (_, i) => ({ zipcode: i, event_timestamp: '2023-06-01T00:00:00Z', city: `after ${'x'.repeat(300)}`, population: 2 }))
      const err = await expectCode(store.writeToOnlineStore('zf', rows), 'MORSEL_WRITE_FAILED')
      expect(err.message).toMatch(/nothing of the batch was stored: database or disk is full/)
      const mat = await store.materialize(WINDOW).catch((e: unknown) => e as Error)
      expect(isMorselError(mat)).toBe(true)
      const read = await store.getOnlineFeatures({ features: ['zf:city', 'zf:population'], entities: { zipcode: [1, 2] } })
      expect(read.toRows()).toEqual([
        { zipcode: 1, city: 'before', population: 1 },
        { zipcode: 2, city: null, population: null },
      ])
      // No interval was recorded for the run that could not write.
      const doc = JSON.parse(readFileSync(join(disk.dir, 'registry.json'), 'utf8')) as RegistryDocument
      expect(doc.projects[store.project]?.materializations.zf).toBeUndefined()

      disk.free()
      expect(await store.writeToOnlineStore('zf', rows)).toEqual({ rows: 500, written: 500, skipped: 0 })
      expect((await store.materialize(WINDOW)).views[0]!.written).toBe(ROWS)
      const db = new Database(join(disk.dir, 'online.db'), { readonly: true })
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      db.close()
    } finally {
      disk.free()
      await store.close()
    }
  })
})

describe('a read-only registry path', () => {
  let disk: SmallDisk
  beforeAll(() => {
    disk = mountSmallDisk(512 * 1024)
  })
  afterAll(() => {
    disk?.readOnly(false)
    disk?.unmount()
  })

  it('refuses apply and materialize with MORSEL_REGISTRY_IO naming the path, writes nothing, and keeps serving reads', async () => {
    const repo = await repoOn(disk)
    const setup = await FeatureStore.open(repo)
    await setup.apply()
    await setup.writeToOnlineStore('zf', [{ zipcode: 7, event_timestamp: '2024-01-01T00:00:00Z', city: 'seven', population: 7 }])
    await setup.close()
    const registry = join(disk.dir, 'registry.json')
    const before = bytes(registry)
    disk.readOnly(true)
    const server = await startFeatureServer({ repoPath: repo, port: 0, logger: pino({ level: 'silent' }), handleSignals: false })
    try {
      writeFileSync(join(repo, 'features.ts'), DEFS(EXTRA_VIEW))
      const apply = await morsel(['apply'], repo)
      expect(apply.code, apply.stderr).toBe(4)
      expect(apply.stderr).toContain('MORSEL_REGISTRY_IO')
      expect(apply.stderr).toContain('not writable')
      expect(apply.stderr).toContain(registry)

      const mat = await post(`${server.urls.base}/materialize`, { start_ts: WINDOW.start.toISOString(), end_ts: WINDOW.end.toISOString() })
      expect(mat.status, mat.text).toBe(500)
      expect(mat.body.error.code).toBe('MORSEL_REGISTRY_IO')
      // The detail (EROFS, the registry's path) goes to the server log only; the answer names the request id.
      expect(mat.body.error.message).toContain(`request id ${mat.headers.get('x-request-id')}`)
      expect(mat.text).not.toContain(registry)

      const read = await post(server.urls.getOnlineFeatures, { features: ['zf:city'], entities: { zipcode: [7, 1999] } })
      expect(read.status).toBe(200)
      // The materialization above wrote nothing: 1999 is still not online.
      expect(read.body.results[1].values).toEqual(['seven', null])
      expect((await get(server.urls.ready)).status).toBe(200)
      expect(bytes(registry)).toBe(before)
      expect(filesIn(disk.dir)).toEqual(['registry.json'])
    } finally {
      await server.close()
      disk.readOnly(false)
    }
  })
})

describe('a corrupt registry file', () => {
  it('makes every command fail with MORSEL_REGISTRY_CORRUPT and the way out, without touching the file', async () => {
    const dir = makeRepo({})
    const disk = { dir } as SmallDisk
    const repo = await repoOn(disk)
    expect((await morsel(['apply'], repo)).code).toBe(0)
    const registry = join(dir, 'registry.json')
    const good = readFileSync(registry, 'utf8')
    const commands = [['apply'], ['materialize', WINDOW.start.toISOString(), WINDOW.end.toISOString()], ['registry-dump']]
    const damages = [good.slice(0, Math.floor(good.length / 2)), '', '{"formatVersion": 1}']
    for (const [i, damage] of damages.entries()) {
      writeFileSync(registry, damage)
      for (const args of i === 0 ? commands : commands.slice(0, 1)) {
        const run = await morsel(args, repo)
        expect(run.code, `${args[0]}: ${run.stderr}`).toBe(4)
        expect(run.stderr).toContain('MORSEL_REGISTRY_CORRUPT')
        expect(run.stderr).toContain(`Restore it from ${registry}.bak`)
        expect(readFileSync(registry, 'utf8')).toBe(damage)
      }
    }
    writeFileSync(registry, good)
    expect((await morsel(['apply'], repo)).code).toBe(0)
  }, 120_000)

  it('keeps a running server on the last good version, counting the failed refreshes, until the file is restored', async () => {
    const dir = makeRepo({})
    const repo = await repoOn({ dir } as SmallDisk)
    writeFileSync(join(repo, 'feature_store.yaml'), `${readFileSync(join(repo, 'feature_store.yaml'), 'utf8')}`.replace(`registry: ${dir}/registry.json`, `registry:\n  path: ${dir}/registry.json\n  cache_ttl_seconds: 1`))
    const setup = await FeatureStore.open(repo)
    await setup.apply()
    await setup.writeToOnlineStore('zf', [{ zipcode: 3, event_timestamp: '2024-01-01T00:00:00Z', city: 'three', population: 3 }])
    await setup.close()
    const server = await startFeatureServer({ repoPath: repo, port: 0, logger: pino({ level: 'silent' }), handleSignals: false })
    const registry = join(dir, 'registry.json')
    try {
      copyFileSync(registry, `${registry}.good`)
      writeFileSync(registry, '{"formatVersion": 1, "version": 7, "proj')
      const refreshErrors = async (): Promise<number> => Number(/^morsel_registry_refresh_errors_total (\d+)/m.exec((await get(server.urls.metrics)).text)?.[1] ?? 0)
      const deadline = Date.now() + 20_000
      while ((await refreshErrors()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
      expect(await refreshErrors()).toBeGreaterThanOrEqual(2)
      const read = await post(server.urls.getOnlineFeatures, { features: ['zf:city'], entities: { zipcode: [3] } })
      expect(read.status).toBe(200)
      expect(read.body.results[1].values).toEqual(['three'])
      expect((await get(server.urls.ready)).body.registry_version).toBe(1)
      copyFileSync(`${registry}.good`, registry)
      const errorsAtRestore = await refreshErrors()
      await new Promise((r) => setTimeout(r, 2500))
      expect(await refreshErrors()).toBe(errorsAtRestore)
    } finally {
      await server.close()
    }
  })
})

describe('source files that are not readable Parquet', () => {
  it('fails materialization and training sets with MORSEL_SOURCE_INVALID naming the file, recording and writing nothing', async () => {
    const dir = makeRepo({})
    const repo = await repoOn({ dir } as SmallDisk)
    const store = await FeatureStore.open(repo)
    try {
      await store.apply()
      const file = join(repo, 'data/z.parquet')
      const good = readFileSync(file)
      const damaged: Array<[string, Buffer]> = [
        ['truncated', good.subarray(0, Math.floor(good.length / 2))],
        ['not Parquet', Buffer.from('zipcode,city\n1,x\n')],
        ['empty', Buffer.alloc(0)],
      ]
      for (const [what, content] of damaged) {
        writeFileSync(file, content)
        const err = await expectCode(store.materialize(WINDOW), 'MORSEL_SOURCE_INVALID')
        expect(err.message, what).toContain(file)
        const out = join(repo, `train-${what.replace(' ', '-')}.parquet`)
        const hist = await expectCode(
          store.getHistoricalFeatures({ entities: [{ zipcode: 1, event_timestamp: '2024-01-05T00:00:00Z' }], features: ['zf:city'] }).toFile(out),
          'MORSEL_SOURCE_INVALID',
        )
        expect(hist.message).toContain(file)
        expect(filesIn(repo).filter((f) => f.startsWith('train-'))).toEqual([])
      }
      const read = await store.getOnlineFeatures({ features: ['zf:city'], entities: { zipcode: [0, 1] } })
      expect(read.toRows().map((r) => r.city)).toEqual([null, null])
      expect((await store.registry.refresh()).materialization('zf').intervals).toEqual([])
      writeFileSync(file, good)
      expect((await store.materialize(WINDOW)).views[0]!.written).toBe(ROWS)
    } finally {
      await store.close()
    }
  })
})
