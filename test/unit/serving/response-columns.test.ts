import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../../src/index.js'
import { toFeastJson } from '../../../src/serving/feast-json.js'
import { csv, makeRepo } from '../../support/temp-repo.js'

// Two views on one entity with different event times and ttls, so that every column of a row has
// its own status and time, read for batches on both sides of the sizes where the response's
// arrays change representation (8 rows for times, 64 for statuses).
const DEFINITIONS = `
import { Entity, FeatureView, FileSource, types } from 'morsel'
export const user = new Entity({ name: 'user_id', valueType: types.Int64 })
export const recent = new FeatureView({
  name: 'recent', entities: [user], ttl: { days: 1 },
  source: new FileSource({ name: 'recent_source', path: 'data/recent.csv', timestampField: 'event_timestamp' }),
  schema: { clicks: types.Int64, score: types.Float64 },
})
export const profile = new FeatureView({
  name: 'profile', entities: [user],
  source: new FileSource({ name: 'profile_source', path: 'data/profile.csv', timestampField: 'event_timestamp' }),
  schema: { country: types.String },
})
`

const DAY_MS = 86_400_000
const FRESH_MS = Date.now() - 3_600_000
const STALE_MS = Date.now() - 3 * DAY_MS
const PROFILE_MS = Date.parse('2024-01-15T00:00:00Z')

/** Users 0..199: multiples of 3 have no recent row, multiples of 5 a stale one, multiples of 7 no profile. */
const hasRecent = (u: number): boolean => u % 3 !== 0
const staleRecent = (u: number): boolean => u % 5 === 0
const hasProfile = (u: number): boolean => u % 7 !== 0

describe('online responses of many rows', () => {
  let store: FeatureStore

  beforeAll(async () => {
    const users = Array.from({ length: 200 }, (_, u) => u)
    const dir = makeRepo({
      'feature_store.yaml': 'project: response_columns\nregistry: data/registry.json\nonline_store:\n  type: sqlite\n  path: data/online.db\n',
      'features.ts': DEFINITIONS,
      'data/recent.csv': csv(['event_timestamp', 'user_id', 'clicks', 'score'], [[new Date(FRESH_MS).toISOString(), 1, 1, 0.5]]),
      'data/profile.csv': csv(['event_timestamp', 'user_id', 'country'], [[new Date(PROFILE_MS).toISOString(), 1, 'NL']]),
    })
    store = await FeatureStore.open(dir)
    await store.apply()
    const recent = users.filter(hasRecent)
    await store.writeToOnlineStore('recent', {
      user_id: recent,
      event_timestamp: recent.map((u) => new Date((staleRecent(u) ? STALE_MS : FRESH_MS) + u * 1000)),
      clicks: recent.map((u) => u * 10),
      score: recent.map((u) => u / 4),
    })
    const profiled = users.filter(hasProfile)
    await store.writeToOnlineStore('profile', {
      user_id: profiled,
      event_timestamp: profiled.map(() => new Date(PROFILE_MS)),
      country: profiled.map((u) => (u % 2 === 0 ? 'NL' : 'FR')),
    })
  })
  afterAll(async () => store.close())

  for (const rows of [1, 8, 9, 64, 65, 150]) {
    it(`gives each of ${rows} rows and each column its own value, status and time`, async () => {
      // Every other user, from the end, so that row order differs from key order.
      const ids = Array.from({ length: rows }, (_, i) => 199 - 2 * (i % 100) - (i >= 100 ? 1 : 0))
      const r = await store.getOnlineFeatures({ features: ['recent:clicks', 'recent:score', 'profile:country'], entities: { user_id: ids } })
      expect(r.featureNames).toEqual(['user_id', 'clicks', 'score', 'country'])
      ids.forEach((u, row) => {
        expect(r.value('user_id', row)).toBe(u)
        expect(r.status('user_id', row)).toBe('PRESENT')
        expect(r.eventTime('user_id', row)).toBeNull()
        const recentStatus = !hasRecent(u) ? 'NOT_FOUND' : staleRecent(u) ? 'OUTSIDE_MAX_AGE' : 'PRESENT'
        for (const [name, value] of [
          ['clicks', u * 10],
          ['score', u / 4],
        ] as const) {
          expect(r.status(name, row)).toBe(recentStatus)
          expect(r.value(name, row)).toBe(recentStatus === 'PRESENT' ? value : null)
          expect(r.eventTime(name, row)?.getTime() ?? null).toBe(hasRecent(u) ? (staleRecent(u) ? STALE_MS : FRESH_MS) + u * 1000 : null)
        }
        expect(r.status('country', row)).toBe(hasProfile(u) ? 'PRESENT' : 'NOT_FOUND')
        expect(r.value('country', row)).toBe(hasProfile(u) ? (u % 2 === 0 ? 'NL' : 'FR') : null)
        expect(r.eventTime('country', row)?.getTime() ?? null).toBe(hasProfile(u) ? PROFILE_MS : null)
      })
      // The JSON carries the same statuses and times, column by column.
      const json = JSON.parse(toFeastJson(r)) as { results: Array<{ statuses: string[]; event_timestamps: string[] }> }
      ids.forEach((u, row) => {
        expect(json.results[1]!.statuses[row]).toBe(r.status('clicks', row))
        expect(json.results[3]!.event_timestamps[row]).toBe(hasProfile(u) ? '2024-01-15T00:00:00Z' : '1970-01-01T00:00:00Z')
        const t = r.eventTime('score', row)
        expect(json.results[2]!.event_timestamps[row]).toBe(t === null ? '1970-01-01T00:00:00Z' : t.toISOString().replace('.000Z', 'Z'))
      })
    })
  }
})
