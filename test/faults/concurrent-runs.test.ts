import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { parseDocument } from '../../src/registry/file/file-registry-store.js'
import type { MaterializationInterval, RegistryDocument } from '../../src/registry/registry-document.js'
import { runSql } from '../support/duckdb-files.js'
import { morsel, recordFigures, type CliRun } from '../support/fault-support.js'
import { makeRepo, uniqueProject } from '../support/temp-repo.js'

/**
 * Two `morsel materialize` or two `morsel apply` processes started at the same instant, round after
 * round: each run either succeeds or fails with its documented code (MORSEL_BUSY for a view being
 * materialized, MORSEL_REGISTRY_CONFLICT / _LOCKED for an apply that lost the race), a run told
 * to `--wait` waits instead, and after every round the registry and its backup parse, hold exactly
 * the work that succeeded (no interval of a failed run, no mix of two applies' definitions), and no
 * lock or temporary file is left behind. An apply racing a materialization: both succeed and
 * neither's change is lost.
 */

const ENTITIES = 10_000
const T0 = Date.UTC(2024, 0, 1)
const DAY = 86_400_000
/** Each entity's event in a slot is at the slot's start plus this (under half a day). */
const offsetMs = (e: number): number => ((e * 7919) % 43_200) * 1000
/** Slot s: one event per entity, inside [T0 + s days, T0 + s days + 12 h]. */
const slotWindow = (s: number): MaterializationInterval => ({ start: new Date(T0 + s * DAY).toISOString(), end: new Date(T0 + s * DAY + DAY / 2).toISOString() })

const VIEWS = (extra = '') => `import { Entity, FeatureView, FileSource, types } from 'morsel'
export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64 })
const source = new FileSource({ name: 'stats_src', path: 'data/stats.parquet', timestampField: 'event_timestamp' })
export const statsA = new FeatureView({ name: 'stats_a', entities: [driver], source, schema: { stamp: types.Int64 } })
export const statsB = new FeatureView({ name: 'stats_b', entities: [driver], source, schema: { stamp: types.Int64, slot: types.Int64 } })
${extra}`

const opened: FeatureStore[] = []
afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined)
})

/** A repository whose Parquet source has one event per entity in each of `slots` slots. */
async function makeSlotRepo(slots: number, registry = 'data/registry.json', project = uniqueProject('conc')): Promise<string> {
  const repo = makeRepo({
    'feature_store.yaml': `project: ${project}\nregistry: ${registry}\nonline_store:\n  type: sqlite\n  path: data/online.db\n`,
    'features.ts': VIEWS(),
  })
  mkdirSync(join(repo, 'data'), { recursive: true })
  await runSql(
    `COPY (
       SELECT e::BIGINT AS driver_id, make_timestamptz((${T0} + s * ${DAY} + ((e * 7919) % 43200) * 1000) * 1000) AS event_timestamp,
              (${T0} + s * ${DAY} + ((e * 7919) % 43200) * 1000)::BIGINT AS stamp, s::BIGINT AS slot
       FROM range(${ENTITIES}) a(e), range(${slots}) b(s)
     ) TO '${join(repo, 'data/stats.parquet')}' (FORMAT parquet)`,
  )
  return repo
}

/**
 * The registry as a reader finds it after a run: the document and its backup parse, the version
 * moved on, and nothing (lock, temporary file) is left in its folder to block the next run.
 */
function checkRegistry(path: string, previousVersion: number): RegistryDocument {
  const doc = parseDocument(readFileSync(path, 'utf8'), path)
  expect(doc.version).toBeGreaterThan(previousVersion)
  if (existsSync(`${path}.bak`)) {
    const bak = parseDocument(readFileSync(`${path}.bak`, 'utf8'), `${path}.bak`)
    expect(bak.version).toBeLessThan(doc.version)
  }
  const leftovers = readdirSync(dirname(path)).filter((f) => f.startsWith(basename(path)) && (f.endsWith('.lock') || f.endsWith('.tmp')))
  expect(leftovers).toEqual([])
  return doc
}

/** Each run's outcome: success, or exit 4 and a message with one of the expected codes. */
function expectOkOr(run: CliRun, codes: RegExp): boolean {
  if (run.code === 0) return true
  expect(run.code, run.stderr).toBe(4)
  expect(run.stderr).toMatch(codes)
  return false
}

describe('two materializations at once', () => {
  it('one waits or fails with MORSEL_BUSY; the registry records exactly the windows that were written, and the online store holds their newest rows', async () => {
    const ROUNDS = 4
    const repo = await makeSlotRepo(2 * ROUNDS)
    expect((await morsel(['-c', repo, 'apply'], repo)).code).toBe(0)
    const registry = join(repo, 'data/registry.json')
    let version = parseDocument(readFileSync(registry, 'utf8'), registry).version

    const done: number[] = []
    let busy = 0
    let waited = 0
    for (let round = 0; round < ROUNDS; round++) {
      // Odd rounds wait for each other (--wait); even rounds fail at once. The second names its
      // views in the other order: locks are taken in name order, so two waiting runs cannot deadlock.
      const wait = round % 2 === 1 ? ['--wait', '120'] : []
      const [a, b] = [2 * round, 2 * round + 1].map(slotWindow) as [MaterializationInterval, MaterializationInterval]
      const runs = await Promise.all([
        morsel(['-c', repo, 'materialize', a.start, a.end, ...wait], repo),
        morsel(['-c', repo, 'materialize', b.start, b.end, '--views', 'stats_b', 'stats_a', ...wait], repo),
      ])
      const ok = runs.map((r) => expectOkOr(r, /MORSEL_BUSY.*being materialized by another run/))
      if (wait.length > 0) {
        expect(ok, runs.map((r) => r.stderr).join('\n')).toEqual([true, true])
        waited++
      } else {
        expect(ok).toContain(true)
        if (ok.includes(false)) busy++
      }
      ok.forEach((o, i) => o && done.push(2 * round + i))

      const doc = checkRegistry(registry, version)
      version = doc.version
      // Exactly the successful runs' windows, in both views: nothing for a run that failed.
      const expected = [...done].sort((x, y) => x - y).map(slotWindow)
      const project = Object.values(doc.projects)[0]!
      expect(project.materializations.stats_a?.intervals).toEqual(expected)
      expect(project.materializations.stats_b?.intervals).toEqual(expected)

      // Online: every entity holds its row of the newest slot written so far.
      const store = await FeatureStore.open(repo)
      opened.push(store)
      const newest = Math.max(...done)
      let wrong = 0
      for (let from = 0; from < ENTITIES; from += 1000) {
        const ids = Array.from({ length: 1000 }, (_, i) => from + i)
        const rows = (await store.getOnlineFeatures({ features: ['stats_a:stamp', 'stats_b:slot'], entities: { driver_id: ids } })).toRows()
        rows.forEach((row, i) => {
          if (row.stamp !== T0 + newest * DAY + offsetMs(ids[i]!) || row.slot !== newest) wrong++
        })
      }
      await store.close()
      expect(wrong).toBe(0)
    }
    // The race really happened: at least one round had a run turned away while the other wrote.
    expect(busy).toBeGreaterThan(0)
    recordFigures('two materializations at once', { rounds: ROUNDS, entities: ENTITIES, roundsWithOneBusy: busy, roundsBothWaitedAndSucceeded: waited, windowsWritten: done.length, registryVersion: version })
  }, 240_000)
})

describe('two applies at once', () => {
  it('one commits, the other fails with MORSEL_REGISTRY_CONFLICT and succeeds when run again; the registry never holds a mix of the two', async () => {
    const ROUNDS = 4
    const shared = join(mkdtempSync(join(tmpdir(), 'morsel-shared-registry-')), 'registry.json')
    const project = uniqueProject('conc_apply')
    const repos = [await makeSlotRepo(1, shared, project), await makeSlotRepo(1, shared, project)] as const
    let version = 0
    let conflicts = 0
    let bothCommitted = 0
    for (let round = 0; round < ROUNDS; round++) {
      // Each round both repositories define a view the registry does not hold yet, so both have a
      // change to commit: whichever commits second against the same version must not overwrite.
      const names = [`a_${round}`, `b_${round}`]
      repos.forEach((repo, i) =>
        writeFileSync(join(repo, 'features.ts'), VIEWS(`export const extra = new FeatureView({ name: '${names[i]}', entities: [driver], source, schema: { stamp: types.Int64 } })\n`)),
      )
      const runs = await Promise.all(repos.map((repo) => morsel(['-c', repo, 'apply'], repo)))
      const ok = runs.map((r) => expectOkOr(r, /MORSEL_REGISTRY_(CONFLICT|LOCKED)/))
      expect(ok).toContain(true)

      let doc = checkRegistry(shared, version)
      version = doc.version
      const views = (d: RegistryDocument): string[] => Object.keys(d.projects[project]?.featureViews ?? {}).sort()
      const defined = (i: number): string[] => ['stats_a', 'stats_b', names[i]!].sort()
      // One repository's definitions exactly, and of a run that succeeded.
      const winner = [0, 1].find((i) => ok[i] && JSON.stringify(views(doc)) === JSON.stringify(defined(i)))
      expect(winner, `registry holds ${views(doc).join(', ')}`).toBeDefined()

      const loser = ok.indexOf(false)
      if (loser === -1) {
        bothCommitted++
        continue
      }
      conflicts++
      // Run again, the loser applies on top of the winner, as its message says.
      const again = await morsel(['-c', repos[loser]!, 'apply'], repos[loser]!)
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toContain(`Deleted feature view ${names[1 - loser]}`)
      doc = checkRegistry(shared, version)
      version = doc.version
      expect(views(doc)).toEqual(defined(loser))
    }
    expect(conflicts).toBeGreaterThan(0)
    recordFigures('two applies at once', { rounds: ROUNDS, roundsWithAConflict: conflicts, roundsBothCommittedInTurn: bothCommitted, registryVersion: version })
  }, 240_000)
})

describe('an apply racing a materialization', () => {
  it('both succeed, and the registry keeps the new definitions and the materialized window', async () => {
    const ROUNDS = 3
    const repo = await makeSlotRepo(ROUNDS)
    expect((await morsel(['-c', repo, 'apply'], repo)).code).toBe(0)
    const registry = join(repo, 'data/registry.json')
    let version = 0
    for (let round = 0; round < ROUNDS; round++) {
      const w = slotWindow(round)
      // A new view each round: a real change for apply to commit while the materialization runs.
      writeFileSync(join(repo, 'features.ts'), VIEWS(`export const extra = new FeatureView({ name: 'extra_${round}', entities: [driver], source, schema: { stamp: types.Int64 } })\n`))
      const [materialized, applied] = await Promise.all([
        morsel(['-c', repo, 'materialize', w.start, w.end, '--views', 'stats_a', 'stats_b'], repo),
        morsel(['-c', repo, 'apply'], repo),
      ])
      expect(materialized.code, materialized.stderr).toBe(0)
      expect(applied.code, applied.stderr).toBe(0)
      const doc = checkRegistry(registry, version)
      version = doc.version
      const project = Object.values(doc.projects)[0]!
      expect(Object.keys(project.featureViews).sort()).toEqual(['extra_' + String(round), 'stats_a', 'stats_b'])
      const expected = Array.from({ length: round + 1 }, (_, s) => slotWindow(s))
      expect(project.materializations.stats_a?.intervals).toEqual(expected)
      expect(project.materializations.stats_b?.intervals).toEqual(expected)
    }
    recordFigures('apply racing a materialization', { rounds: ROUNDS, lostChanges: 0, registryVersion: version })
  }, 240_000)
})
