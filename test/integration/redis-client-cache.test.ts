import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeValue, serializeEntityKey } from '../../src/encoding/index.js'
import type { OnlineStore } from '../../src/online/online-store.js'
import { createRedisOnlineStore, type RedisOnlineStore } from '../../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../../src/online/redis/redis-online-store-config.js'
import { ValueType } from '../../src/types/value-type.js'
import { redisCli, startPlainRedis, type RedisServer } from '../support/redis-servers.js'

/**
 * The client-side cache (CLIENT TRACKING): hot entities come from memory, and once the
 * invalidation of a changed key has arrived the old value is never served. A private server makes
 * its command counters exact. "Has arrived" is made deterministic with a fence: a PING on the
 * caching connection (health()) sent after a write completed is answered after the invalidation
 * that write caused, since Redis sends both on that connection in order.
 */

let server: (RedisServer & { remove(): Promise<void> }) | undefined
const opened: OnlineStore[] = []

beforeAll(async () => {
  server = await startPlainRedis()
}, 60_000)

afterAll(async () => {
  for (const s of opened) await s.close()
  await server?.remove()
})

async function open(cache: Record<string, unknown> | undefined, project = 'cache'): Promise<RedisOnlineStore> {
  const store = await createRedisOnlineStore(
    redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: server!.address, ...(cache !== undefined && { client_side_cache: cache }) }),
    { project, repoPath: tmpdir(), entityKeySerializationVersion: 3 },
  )
  opened.push(store)
  return store
}

const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)
const i64 = (n: number): Buffer => encodeValue(n, ValueType.INT64)
const T0 = Date.UTC(2024, 0, 15) * 1000
const VIEW = { joinKeys: ['zipcode'], views: [{ name: 'v', features: ['f'] }] }
const write = (s: OnlineStore, n: number, value: number, micros: number) =>
  s.writeBatch({ view: 'v', features: ['f'], rows: [{ entityKey: zip(n), eventTimeMicros: micros, values: [i64(value)] }] })

async function stats(s: OnlineStore): Promise<Record<string, number>> {
  const h = await s.health()
  expect(h.ok).toBe(true)
  return { ...h.stats }
}

async function serverReads(): Promise<number> {
  const info = await redisCli(['-p', String(server!.port), 'INFO', 'commandstats'])
  return Number(/cmdstat_hmget:calls=(\d+)/.exec(info)?.[1] ?? 0)
}

const value = (cells: ReadonlyArray<Uint8Array | null> | null | undefined): Buffer | null => (cells?.[0] ? Buffer.from(cells[0]) : null)

describe('redis client-side cache', () => {
  it('serves a hot entity from memory without asking Redis again', async () => {
    const a = await open({ enabled: true }, 'hot')
    const prepared = a.prepareRead([VIEW])
    await write(a, 1, 10, T0)
    await a.read(prepared, [[zip(1)]])
    const before = await serverReads()
    for (let i = 0; i < 5; i++) expect(value((await a.read(prepared, [[zip(1)]]))[0]![0])).toEqual(i64(10))
    expect(await serverReads()).toBe(before)
    const s = await stats(a)
    expect(s.client_cache_hits).toBe(5)
    expect(s.client_cache_entries).toBe(1)
  })

  it('never serves a value changed by another client once its invalidation arrived', async () => {
    const a = await open({ enabled: true }, 'inval')
    const b = await open(undefined, 'inval')
    const prepared = a.prepareRead([VIEW])
    await write(b, 2, 0, T0)
    for (let i = 1; i <= 30; i++) {
      expect(value((await a.read(prepared, [[zip(2)]]))[0]![0])).toEqual(i64(i - 1))
      await write(b, 2, i, T0 + i)
      await a.health()
      expect(value((await a.read(prepared, [[zip(2)]]))[0]![0])).toEqual(i64(i))
    }
    expect((await stats(a)).client_cache_invalidations).toBeGreaterThanOrEqual(30)
  })

  it('does not keep a reply that raced with the invalidation of its key', async () => {
    const a = await open({ enabled: true }, 'race')
    const b = await open(undefined, 'race')
    const prepared = a.prepareRead([VIEW])
    await write(b, 3, 0, T0)
    await a.read(prepared, [[zip(3)]])
    for (let i = 1; i <= 100; i++) {
      // Reads and another client's writes of the key, interleaved as they come.
      await Promise.all([a.read(prepared, [[zip(3)]]), write(b, 3, i, T0 + i)])
      await a.health()
      expect(value((await a.read(prepared, [[zip(3)]]))[0]![0])).toEqual(i64(i))
    }
    // The same race made certain: read and write pipelined on the caching connection itself, so
    // the old value's reply and the invalidation arrive in one socket chunk, invalidation second.
    for (let i = 101; i <= 140; i += 2) {
      // This write's invalidation empties the cache, so the read below goes to Redis.
      await write(a, 3, i, T0 + i)
      await Promise.all([a.read(prepared, [[zip(3)]]), write(a, 3, i + 1, T0 + i + 1)])
      expect(value((await a.read(prepared, [[zip(3)]]))[0]![0])).toEqual(i64(i + 1))
    }
  })

  it('forgets deleted entities and caches absence correctly', async () => {
    const a = await open({ enabled: true }, 'deleted')
    const b = await open(undefined, 'deleted')
    const prepared = a.prepareRead([VIEW])
    expect((await a.read(prepared, [[zip(4)]]))[0]![0]).toBeNull()
    await write(b, 4, 4, T0)
    await a.health()
    expect(value((await a.read(prepared, [[zip(4)]]))[0]![0])).toEqual(i64(4))
    await b.deleteViews([{ name: 'v', joinKeys: ['zipcode'], features: ['f'] }])
    await a.health()
    expect((await a.read(prepared, [[zip(4)]]))[0]![0]).toBeNull()
  })

  it('keeps at most max_entries entities', async () => {
    const a = await open({ enabled: true, max_entries: 2 }, 'bounded')
    const prepared = a.prepareRead([VIEW])
    await a.read(prepared, [[zip(1), zip(2), zip(3)]])
    const s = await stats(a)
    expect(s.client_cache_entries).toBe(2)
    expect(s.client_cache_evictions).toBe(1)
  })

  it('flushes everything when the connection is lost, since invalidations may have been missed', async () => {
    const a = await open({ enabled: true }, 'lost')
    const prepared = a.prepareRead([VIEW])
    await write(a, 5, 5, T0)
    await a.read(prepared, [[zip(5)]])
    expect((await stats(a)).client_cache_entries).toBe(1)
    await server!.restart()
    // The restarted server holds nothing (no persistence): a stale cache would still answer 5.
    let cells: unknown
    for (let i = 0; i < 100; i++) {
      cells = await a.read(prepared, [[zip(5)]]).then(
        (r) => r[0]![0],
        () => undefined,
      )
      if (cells !== undefined) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(cells).toBeNull()
  })
})
