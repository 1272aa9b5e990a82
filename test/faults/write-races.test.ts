import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { runSql } from '../support/duckdb-files.js'
import { MORSEL_BIN, recordFigures, round } from '../support/fault-support.js'
import { REDIS_URL } from '../support/server-harness.js'
import { makeRepo, uniqueProject } from '../support/temp-repo.js'

/**
 * Pushes racing a materialization for the same entities: the materialization runs in its own
 * process (`morsel materialize`) while this process pushes rows for the same entities, some newer
 * and some older than the offline data. Whatever the interleaving, every entity ends with the row
 * of the newest event time, from whichever writer, and a reader never sees an entity's event time
 * go backwards. On Redis (decided in a Lua script) and on SQLite (in a transaction).
 */

const ENTITIES = 20_000
const T0 = Date.UTC(2024, 0, 1)
const DAY = 86_400_000
/** Offline rows: each entity's latest time in the window is T0 + a few hours, distinct per entity. */
const offlineTimeMs = (e: number): number => T0 + ((e * 7919) % 43_200) * 1000
const WINDOW = ['2023-12-01T00:00:00Z', '2024-02-01T00:00:00Z']

const DEFS = `import { Entity, FeatureView, FileSource, PushSource, types } from 'morsel'
export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })
const source = new FileSource({ name: 'stats_src', path: 'data/stats.parquet', timestampField: 'event_timestamp' })
export const push = new PushSource({ name: 'stats_push', batchSource: source })
export const stats = new FeatureView({ name: 'stats', entities: [driver], source: push, schema: { stamp: types.Int64, origin: types.String } })
`

const opened: FeatureStore[] = []
afterAll(async () => {
  for (const s of opened) {
    await s.teardown().catch(() => undefined)
    await s.close()
  }
})

async function makeRaceRepo(online: string): Promise<string> {
  const repo = makeRepo({ 'feature_store.yaml': `project: ${uniqueProject('race')}\nregistry: data/registry.json\n${online}materialization:\n  online_write_batch_size: 500\n`, 'features.ts': DEFS })
  mkdirSync(join(repo, 'data'), { recursive: true })
  // Two rows per entity: an older one and the latest, whose `stamp` is its own event time in ms.
  await runSql(
    `COPY (
       SELECT e::BIGINT AS driver_id, make_timestamptz((${T0} + ((e * 7919) % 43200) * 1000 - k * ${DAY}) * 1000) AS event_timestamp,
              (${T0} + ((e * 7919) % 43200) * 1000 - k * ${DAY})::BIGINT AS stamp, 'offline' AS origin
       FROM range(${ENTITIES}) a(e), range(2) b(k)
     ) TO '${join(repo, 'data/stats.parquet')}' (FORMAT parquet)`,
  )
  return repo
}

const STORES: Array<[string, string]> = [
  ['redis', `online_store:\n  type: redis\n  connection_string: "${REDIS_URL}"\n`],
  ['sqlite', 'online_store:\n  type: sqlite\n  path: data/online.db\n'],
]

describe.each(STORES)('pushes racing a materialization on %s', (kind, online) => {
  it('ends with the newest event time for every entity, and never shows an entity going back in time', async () => {
    const repo = await makeRaceRepo(online)
    const store = await FeatureStore.open(repo)
    opened.push(store)
    await store.apply()
    await store.close()
    const writer = await FeatureStore.open(repo)
    opened.push(writer)

    // The newest event time this test pushed per entity.
    const pushedNewest = new Map<number, number>()
    // mulberry32: the low bits of a power-of-two LCG cycle with short periods, which made the
    // pushes fall on a few hundred entities and alternate strictly between newer and older.
    let rng = 42
    const random = (n: number): number => {
      rng = (rng + 0x6d2b79f5) | 0
      let t = Math.imul(rng ^ (rng >>> 15), 1 | rng)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n)
    }
    let pushing = true
    let pushedRows = 0
    let pushBatches = 0
    let skippedRows = 0
    const pusher = async (): Promise<void> => {
      while (pushing) {
        const ids = Array.from({ length: 200 }, () => random(ENTITIES))
        // Around each entity's offline time: half of the pushes newer, half older; never equal.
        const stamps = ids.map((e) => offlineTimeMs(e) + (random(2) === 0 ? -1 : 1) * (1 + random(DAY)))
        const summary = await writer.push('stats_push', { driver_id: ids, event_timestamp: stamps.map((t) => new Date(t).toISOString()), stamp: stamps, origin: stamps.map(() => 'push') })
        ids.forEach((e, i) => pushedNewest.set(e, Math.max(pushedNewest.get(e) ?? 0, stamps[i]!)))
        pushedRows += ids.length
        skippedRows += summary.views[0]!.skipped
        pushBatches++
        // SQLite answers synchronously, so without a turn of the event loop this loop would run on
        // microtasks alone and never see the child's exit (as a tight loop of awaits never does).
        await nextTurn()
      }
    }
    // A reader watching a few entities: the event time it sees never goes backwards.
    const watched = Array.from({ length: 50 }, (_, i) => i * 397)
    const seen = new Map<number, number>()
    const backwards: string[] = []
    let reads = 0
    const reader = async (): Promise<void> => {
      while (pushing) {
        const res = await writer.getOnlineFeatures({ features: ['stats:stamp'], entities: { driver_id: watched } })
        res.toRows().forEach((row, i) => {
          const stamp = row.stamp as number | null
          if (stamp === null) return
          const before = seen.get(watched[i]!) ?? 0
          if (stamp < before) backwards.push(`driver ${watched[i]}: ${stamp} after ${before}`)
          seen.set(watched[i]!, stamp)
        })
        reads++
        await nextTurn()
      }
    }

    const started = performance.now()
    const race = [pusher(), pusher(), reader()]
    const materialize = new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [MORSEL_BIN, '-c', repo, 'materialize', ...WINDOW], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      child.on('exit', (code) => done({ code, stderr }))
    })
    const run = await materialize
    const materializeMs = performance.now() - started
    pushing = false
    await Promise.all(race)
    expect(run.code, run.stderr).toBe(0)

    let mismatches = 0
    const examples: string[] = []
    let fromPush = 0
    for (let from = 0; from < ENTITIES; from += 1000) {
      const ids = Array.from({ length: Math.min(1000, ENTITIES - from) }, (_, i) => from + i)
      const rows = (await writer.getOnlineFeatures({ features: ['stats:stamp', 'stats:origin'], entities: { driver_id: ids } })).toRows()
      rows.forEach((row, i) => {
        const e = ids[i]!
        const offline = offlineTimeMs(e)
        const pushed = pushedNewest.get(e) ?? 0
        const expected = pushed > offline ? { stamp: pushed, origin: 'push' } : { stamp: offline, origin: 'offline' }
        if (row.stamp !== expected.stamp || row.origin !== expected.origin) {
          mismatches++
          if (examples.length < 5) examples.push(`driver ${e}: stored ${JSON.stringify(row)}, expected ${JSON.stringify(expected)}`)
        }
        if (row.origin === 'push') fromPush++
      })
    }
    expect(mismatches, examples.join('\n')).toBe(0)
    expect(backwards, backwards.slice(0, 5).join('\n')).toEqual([])
    // The race really happened: pushes went on throughout the materialization.
    expect(pushBatches).toBeGreaterThan(2)
    recordFigures(`push vs materialization race (${kind})`, {
      entities: ENTITIES,
      materializeMs: round(materializeMs),
      pushedRows,
      pushRowsSkippedAsOlder: skippedRows,
      entitiesEndingWithPushedRow: fromPush,
      readerChecks: reads * watched.length,
      mismatches,
      timeWentBackwards: backwards.length,
    })
  }, 180_000)
})
