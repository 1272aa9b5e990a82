import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { FeatureStore, isMorselError, loadRepoConfig, type MaterializeProgress, type OnlineStore } from '../../src/index.js'
import { acquireMaterializationLock } from '../../src/materialization/materialization-lock.js'
import { Micros, writeTable, type TestColumn } from '../support/duckdb-files.js'
import { csv, makeRepo, uniqueProject } from '../support/temp-repo.js'

/*
 * Materialization semantics (feast-internals §7), run against each online store: the store is a
 * parameter, so every backend is held to the same behaviour.
 */
const ONLINE_STORES: ReadonlyArray<{ readonly name: string; readonly yaml: string }> = [
  { name: 'sqlite', yaml: 'online_store:\n  type: sqlite\n  path: data/online.db\n' },
  { name: 'redis', yaml: 'online_store:\n  type: redis\n  connection_string: 127.0.0.1:6379\n' },
]

const HOUR = 3600 * 1_000_000
const T0 = Date.UTC(2024, 2, 1) * 1000

const DEFINITIONS = `
import { Entity, FeatureView, FileSource, types } from 'morsel'

export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })

const statsSource = new FileSource({ name: 'stats_src', path: 'data/stats.parquet', timestampField: 'event_ts', createdTimestampColumn: 'created_ts', fieldMapping: { n: 'note' } })

export const stats = new FeatureView({ name: 'stats', entities: [driver], ttl: 0, source: statsSource, schema: { trips: types.Int64, note: types.String, rates: types.Array(types.Float64) } })

// A ttl: where an incremental run starts when the view was never materialized.
export const recent = new FeatureView({
  name: 'recent', entities: [driver], ttl: { hours: 2 },
  source: new FileSource({ name: 'recent_src', path: 'data/recent.csv', timestampField: 'event_ts' }),
  schema: { score: types.Int64 },
})

export const cold = new FeatureView({ name: 'cold', entities: [driver], online: false, source: statsSource, schema: { trips: types.Int64 } })
`

const STATS: TestColumn[] = [
  { name: 'driver_id', type: 'BIGINT' },
  { name: 'event_ts', type: 'TIMESTAMPTZ' },
  { name: 'created_ts', type: 'TIMESTAMPTZ' },
  { name: 'trips', type: 'BIGINT' },
  { name: 'n', type: 'VARCHAR' },
  { name: 'rates', type: 'DOUBLE[]' },
]

type StatsRow = readonly [driver: number, ts: number, created: number | null, trips: number | null, note: string | null]

async function writeStats(dir: string, rows: readonly StatsRow[]): Promise<void> {
  await writeTable(
    join(dir, 'data/stats.parquet'),
    STATS,
    rows.map(([d, ts, created, trips, note]) => [d, new Micros(ts), created === null ? null : new Micros(created), trips, note, [trips ?? 0, 0.5]]),
  )
}

for (const backend of ONLINE_STORES) {
  describe(`materialization into ${backend.name}`, () => {
    const stores: FeatureStore[] = []

    async function open(options: { readonly batchSize?: number; readonly onlineStore?: OnlineStore } = {}): Promise<{ dir: string; store: FeatureStore }> {
      const dir = makeRepo({
        'feature_store.yaml': `project: ${uniqueProject(`mat_${backend.name}`)}\nregistry: data/registry.json\n${backend.yaml}`,
        'features.ts': DEFINITIONS,
        // One old row, so that the CSV's column types can be detected.
        'data/recent.csv': csv(['event_ts', 'driver_id', 'score'], [['2000-01-01T00:00:00Z', 0, 0]]),
      })
      mkdirSync(join(dir, 'data'), { recursive: true })
      await writeStats(dir, [])
      const config = loadRepoConfig({ repoPath: dir })
      const store = await FeatureStore.open({
        config: options.batchSize === undefined ? config : { ...config, materialization: { onlineWriteBatchSize: options.batchSize } },
        ...(options.onlineStore && { onlineStore: options.onlineStore }),
      })
      stores.push(store)
      await store.apply()
      return { dir, store }
    }

    afterAll(async () => {
      for (const s of stores) {
        await s.teardown().catch(() => undefined)
        await s.close()
      }
    })
    afterEach(() => {
      vi.useRealTimers()
    })

    async function online(store: FeatureStore, drivers: readonly number[]): Promise<Array<{ trips: unknown; note: unknown; rates: unknown; micros: number }>> {
      const r = await store.getOnlineFeatures({ features: ['stats:trips', 'stats:note', 'stats:rates'], entityRows: drivers.map((driver_id) => ({ driver_id })) })
      const tripsCol = r.column('trips')
      return drivers.map((_, i) => ({ trips: r.value('trips', i), note: r.value('note', i), rates: r.value('rates', i), micros: r.eventTimes[tripsCol]![i]! }))
    }

    async function intervals(store: FeatureStore, view: string): Promise<ReadonlyArray<{ start: string; end: string }>> {
      return (await store.registry.refresh()).materialization(view).intervals
    }

    it('writes the latest row per entity of the window, ties broken by the created timestamp, with microsecond event times', async () => {
      const { dir, store } = await open()
      await writeStats(dir, [
        [1, T0 + HOUR, null, 10, 'first'],
        [1, T0 + 2 * HOUR + 7, null, 11, 'latest'],
        [2, T0 + HOUR, T0 + 5, 20, 'created earlier'],
        [2, T0 + HOUR, T0 + 6, 21, 'created later'],
        [2, T0 + HOUR, null, 22, 'no created time'],
        [3, T0 + HOUR, null, 30, 'in window'],
        [3, T0 + 20 * HOUR, null, 31, 'after the window'],
        [4, T0 + 20 * HOUR, null, 40, 'only after the window'],
        [5, T0 + HOUR, null, null, null],
      ])
      const result = await store.materialize({ start: new Date(T0 / 1000), end: new Date((T0 + 10 * HOUR) / 1000), views: ['stats'] })
      expect(result.views).toEqual([expect.objectContaining({ view: 'stats', rows: 4, written: 4, skipped: 0 })])
      expect(await online(store, [1, 2, 3, 4, 5])).toEqual([
        { trips: 11, note: 'latest', rates: [11, 0.5], micros: T0 + 2 * HOUR + 7 },
        { trips: 21, note: 'created later', rates: [21, 0.5], micros: T0 + HOUR },
        { trips: 30, note: 'in window', rates: [30, 0.5], micros: T0 + HOUR },
        { trips: null, note: null, rates: null, micros: 0 },
        { trips: null, note: null, rates: [0, 0.5], micros: T0 + HOUR },
      ])
      expect(await intervals(store, 'stats')).toEqual([{ start: new Date(T0 / 1000).toISOString(), end: new Date((T0 + 10 * HOUR) / 1000).toISOString() }])
    })

    it('includes rows exactly at the window edges and nothing a microsecond outside', async () => {
      const { dir, store } = await open()
      const start = T0 + HOUR
      const end = T0 + 3 * HOUR
      await writeStats(dir, [
        [1, start - 1, null, 1, 'before'],
        [2, start, null, 2, 'at start'],
        [3, end, null, 3, 'at end'],
        [4, end + 1, null, 4, 'after'],
      ])
      await store.materialize({ start: new Date(start / 1000), end: new Date(end / 1000) })
      expect((await online(store, [1, 2, 3, 4])).map((r) => r.note)).toEqual([null, 'at start', 'at end', null])
    })

    it('is idempotent: a re-run writes nothing new and records the window once', async () => {
      const { dir, store } = await open({ batchSize: 3 })
      await writeStats(dir, Array.from({ length: 10 }, (_, i): StatsRow => [i, T0 + i, null, i, `n${i}`]))
      const window = { start: new Date(T0 / 1000), end: new Date((T0 + HOUR) / 1000) }
      const first = await store.materialize(window)
      const before = await online(store, Array.from({ length: 10 }, (_, i) => i))
      const second = await store.materialize(window)
      expect(first.views.find((v) => v.view === 'stats')).toMatchObject({ rows: 10, written: 10, skipped: 0 })
      expect(second.views.find((v) => v.view === 'stats')).toMatchObject({ rows: 10, written: 0, skipped: 10 })
      expect(await online(store, Array.from({ length: 10 }, (_, i) => i))).toEqual(before)
      expect(await intervals(store, 'stats')).toHaveLength(1)
    })

    it('never lets an earlier window overwrite newer values', async () => {
      const { dir, store } = await open()
      await writeStats(dir, [
        [1, T0 + HOUR, null, 1, 'old'],
        [1, T0 + 5 * HOUR, null, 2, 'new'],
      ])
      await store.materialize({ start: new Date((T0 + 4 * HOUR) / 1000), end: new Date((T0 + 6 * HOUR) / 1000) })
      const r = await store.materialize({ start: new Date(T0 / 1000), end: new Date((T0 + 2 * HOUR) / 1000), views: ['stats'] })
      expect(r.views[0]).toMatchObject({ rows: 1, written: 0, skipped: 1 })
      expect((await online(store, [1]))[0]!.note).toBe('new')
      expect(await intervals(store, 'stats')).toHaveLength(2)
    })

    it('starts incremental runs where the last window ended, or at now − ttl, or 52 weeks ago without a ttl', async () => {
      const now = Date.UTC(2024, 5, 1, 12)
      vi.useFakeTimers({ toFake: ['Date'], now })
      const { dir, store } = await open()
      writeFileSync(join(dir, 'data/recent.csv'), csv(['event_ts', 'driver_id', 'score'], [['2000-01-01T00:00:00Z', 0, 0], [new Date(now - 3 * 3600_000).toISOString(), 1, 1], [new Date(now - 3600_000).toISOString(), 2, 2]]))
      await writeStats(dir, [[7, now * 1000 - 30 * 24 * HOUR, null, 7, 'a month ago']])

      const first = await store.materializeIncremental({ end: new Date(now) })
      expect(first.views.map((v) => [v.view, v.start.getTime(), v.end.getTime(), v.rows])).toEqual([
        ['recent', now - 2 * 3600_000, now, 1],
        ['stats', now - 52 * 7 * 24 * 3600_000, now, 1],
      ])

      const second = await store.materializeIncremental({ end: new Date(now + 3600_000) })
      expect(second.views.map((v) => [v.view, v.start.getTime(), v.end.getTime()])).toEqual([
        ['recent', now, now + 3600_000],
        ['stats', now, now + 3600_000],
      ])
      // After an explicit window, the next incremental run starts at that window's end.
      await store.materialize({ start: new Date(now), end: new Date(now + 5 * 3600_000), views: ['recent'] })
      const third = await store.materializeIncremental({ end: new Date(now + 6 * 3600_000), views: ['recent'] })
      expect(third.views.map((v) => v.start.getTime())).toEqual([now + 5 * 3600_000])
      // An END before the last recorded end has nothing to do and records nothing.
      const stale = await store.materializeIncremental({ end: new Date(now), views: ['recent'] })
      expect(stale.views[0]).toMatchObject({ rows: 0, written: 0 })
      expect(await intervals(store, 'recent')).toEqual([{ start: new Date(now - 2 * 3600_000).toISOString(), end: new Date(now + 6 * 3600_000).toISOString() }])
    })

    it('materializes the online views by default and named views (online or not) on request', async () => {
      const { dir, store } = await open()
      await writeStats(dir, [[1, T0, null, 1, 'x']])
      const window = { start: new Date(T0 / 1000 - 1000), end: new Date(T0 / 1000 + 1000) }
      expect((await store.materialize(window)).views.map((v) => v.view)).toEqual(['recent', 'stats'])
      expect((await store.materialize({ ...window, views: ['cold'] })).views.map((v) => [v.view, v.written])).toEqual([['cold', 1]])
      await expect(store.materialize({ ...window, views: ['nope'] })).rejects.toMatchObject({ code: 'MORSEL_FEATURE_NOT_FOUND' })
      await expect(store.materialize({ start: window.end, end: window.start })).rejects.toMatchObject({ code: 'MORSEL_USAGE' })
    })

    it('reports progress per view: start, batches, done', async () => {
      const { dir, store } = await open({ batchSize: 4 })
      await writeStats(dir, Array.from({ length: 10 }, (_, i): StatsRow => [i, T0, null, i, null]))
      const events: MaterializeProgress[] = []
      await store.materialize({ start: new Date(T0 / 1000), end: new Date(T0 / 1000), views: ['stats'], onProgress: (e) => events.push(e) })
      expect(events.map((e) => [e.phase, e.rows, e.total])).toEqual([
        ['start', 0, 10],
        ['progress', 4, 10],
        ['progress', 8, 10],
        ['progress', 10, 10],
        ['done', 10, 10],
      ])
    })

    it('closes the offline read when a progress callback throws before the first batch', async () => {
      const { dir, store } = await open()
      await writeStats(dir, [[1, T0, null, 1, 'x']])
      const real = await store.offlineStore()
      let opened = 0
      let closed = 0
      // The real DuckDB store, with its pulls counted: each holds a connection until closed.
      const counting = new Proxy(real, {
        get(target, name) {
          if (name === 'pullLatest') {
            return async (...args: Parameters<typeof real.pullLatest>) => {
              const latest = await target.pullLatest(...args)
              opened++
              return {
                ...latest,
                batches: () => latest.batches(),
                close: async () => {
                  closed++
                  await latest.close()
                },
              }
            }
          }
          const v = Reflect.get(target, name, target) as unknown
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
        },
      })
      const other = await FeatureStore.open({ config: loadRepoConfig({ repoPath: dir }), offlineStore: counting })
      stores.push(other)
      const failing = other.materialize({
        start: new Date(T0 / 1000),
        end: new Date(T0 / 1000),
        views: ['stats'],
        onProgress: (e) => {
          if (e.phase === 'start') throw new Error('progress display failed')
        },
      })
      await expect(failing).rejects.toThrow('progress display failed')
      expect([opened, closed]).toEqual([1, 1])
    })

    it('records no interval when a write fails, and a re-run ends as an uninterrupted run would', async () => {
      const rows = Array.from({ length: 12 }, (_, i): StatsRow => [i, T0 + i, null, i, `n${i}`])
      const window = { start: new Date(T0 / 1000), end: new Date(T0 / 1000 + 1000), views: ['stats'] }

      const { dir, store } = await open({ batchSize: 5 })
      await writeStats(dir, rows)
      const real = await store.onlineStore()
      let writes = 0
      // The real store, made to fail from its second batch on, as a lost connection would.
      const failing: OnlineStore = {
        kind: real.kind,
        capabilities: real.capabilities,
        prepareRead: (groups) => real.prepareRead(groups),
        read: (prepared, keys, o) => real.read(prepared, keys, o),
        writeBatch: async (batch, o) => {
          if (++writes >= 2) throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' })
          return real.writeBatch(batch, o)
        },
        deleteViews: (views, o) => real.deleteViews(views, o),
        health: (o) => real.health(o),
        // The real store belongs to the other FeatureStore, which closes it.
        close: async () => undefined,
      }
      const broken = await FeatureStore.open({ config: { ...loadRepoConfig({ repoPath: dir }), materialization: { onlineWriteBatchSize: 5 } }, onlineStore: failing })
      stores.push(broken)
      await expect(broken.materialize(window)).rejects.toThrow('connection lost')
      expect(await intervals(store, 'stats')).toEqual([])

      const rerun = await store.materialize(window)
      expect(rerun.views[0]).toMatchObject({ rows: 12, written: 7, skipped: 5 })
      expect(await intervals(store, 'stats')).toHaveLength(1)

      const { dir: cleanDir, store: clean } = await open({ batchSize: 5 })
      await writeStats(cleanDir, rows)
      await clean.materialize(window)
      const ids = rows.map((r) => r[0])
      expect(await online(store, ids)).toEqual(await online(clean, ids))
    })

    it('refuses a second materialization of the project while one runs (MORSEL_BUSY), or waits for it', async () => {
      const { dir, store } = await open()
      await writeStats(dir, [[1, T0, null, 1, 'x']])
      const lockPath = `${store.config.registry.path}.${store.project}.stats.materialize.lock`
      const release = await acquireMaterializationLock(lockPath, 'another run')
      // Views nobody else materializes go ahead.
      expect((await store.materialize({ start: new Date(T0 / 1000), end: new Date(T0 / 1000), views: ['recent'] })).views).toHaveLength(1)
      const window = { start: new Date(T0 / 1000), end: new Date(T0 / 1000) }
      const busy = await store.materialize(window).catch((e: unknown) => e)
      expect(isMorselError(busy, 'MORSEL_BUSY') && busy.message).toContain("Feature view 'stats' is being materialized by another run (another run")
      expect(await intervals(store, 'stats')).toEqual([])
      // Nothing was taken: the other view's lock was released with the failure.
      expect((await store.materialize({ ...window, views: ['recent'] })).views).toHaveLength(1)

      const waiting = store.materialize({ ...window, waitMs: 30_000 })
      setTimeout(() => void release(), 200)
      expect((await waiting).views.find((v) => v.view === 'stats')).toMatchObject({ written: 1 })
    })

    it('takes over a lock left by a process that was killed', async () => {
      const { dir, store } = await open()
      await writeStats(dir, [[1, T0, null, 1, 'x']])
      const dead = spawnSync(process.execPath, ['-e', '']).pid
      writeFileSync(`${store.config.registry.path}.${store.project}.stats.materialize.lock`, JSON.stringify({ pid: dead, host: hostname(), at: new Date().toISOString(), what: 'killed run' }))
      expect((await store.materialize({ start: new Date(T0 / 1000), end: new Date(T0 / 1000) })).views.find((v) => v.view === 'stats')).toMatchObject({ written: 1 })
    })
  })
}

describe('materialization windows are recorded per online store', () => {
  const opened: FeatureStore[] = []
  afterAll(async () => {
    for (const s of opened) {
      await s.teardown().catch(() => undefined)
      await s.close()
    }
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('starts a view over when the config points at another online store, instead of leaving the new store empty', async () => {
    const now = Date.UTC(2024, 5, 1, 12)
    vi.useFakeTimers({ toFake: ['Date'], now })
    const dir = makeRepo({
      'feature_store.yaml': `project: ${uniqueProject('mat_switch')}\nregistry: data/registry.json\nonline_store:\n  type: sqlite\n  path: data/online.db\n`,
      'features.ts': DEFINITIONS,
      'data/recent.csv': csv(['event_ts', 'driver_id', 'score'], [['2000-01-01T00:00:00Z', 0, 0]]),
    })
    mkdirSync(join(dir, 'data'), { recursive: true })
    await writeStats(dir, [[7, now * 1000 - 30 * 24 * HOUR, null, 7, 'a month ago']])
    const config = loadRepoConfig({ repoPath: dir })
    const first = await FeatureStore.open({ config })
    opened.push(first)
    await first.apply()
    const a = await first.materializeIncremental({ end: new Date(now), views: ['stats'] })
    expect(a.views[0]).toMatchObject({ rows: 1, written: 1 })
    // The same repository, now configured with another online store: its windows say nothing of it.
    const second = await FeatureStore.open({ config: { ...config, onlineStore: redisDefaults() } })
    opened.push(second)
    const b = await second.materializeIncremental({ end: new Date(now + 1000), views: ['stats'] })
    expect(b.views.map((v) => [v.start.getTime(), v.rows, v.written])).toEqual([[now - 52 * 7 * 24 * 3600_000, 1, 1]])
    const read = await second.getOnlineFeatures({ features: ['stats:note'], entityRows: [{ driver_id: 7 }] })
    expect(read.value('note', 0)).toBe('a month ago')
    const recorded = (await second.registry.refresh()).materialization('stats')
    expect(recorded.onlineStore).toBe('redis:127.0.0.1:6379/0')
    expect(recorded.intervals).toEqual([{ start: new Date(now - 52 * 7 * 24 * 3600_000).toISOString(), end: new Date(now + 1000).toISOString() }])
    // The same store again continues where its window ended.
    const again = await second.materializeIncremental({ end: new Date(now + 2000), views: ['stats'] })
    expect(again.views[0]!.start.getTime()).toBe(now + 1000)
  })
})

/** A Redis online store config on the machine's Redis, with the schema's defaults. */
function redisDefaults() {
  return loadRepoConfig({ repoPath: makeRepo({ 'feature_store.yaml': 'project: x\nregistry: r.json\nonline_store:\n  type: redis\n  connection_string: 127.0.0.1:6379\n' }) }).onlineStore
}
