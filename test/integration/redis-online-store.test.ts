import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeValue, serializeEntityKey } from '../../src/encoding/index.js'
import { createRedisOnlineStore, type RedisOnlineStore } from '../../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../../src/online/redis/redis-online-store-config.js'
import { ValueType } from '../../src/types/value-type.js'
import { describeOnlineStore } from '../conformance/online-store.suite.js'
import { redisCli, startPlainRedis, type RedisServer } from '../support/redis-servers.js'

const REDIS_URL = process.env.MORSEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'


describeOnlineStore('redis (standalone)', {
  create: (project) =>
    createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: REDIS_URL }), {
      project,
      repoPath: tmpdir(),
      entityKeySerializationVersion: 3,
    }),
})

describe('redis read modes (HMGET or HGETALL, learnt per compiled read)', () => {
  let server: (RedisServer & { remove(): Promise<void> }) | undefined
  let store: RedisOnlineStore | undefined
  beforeAll(async () => {
    server = await startPlainRedis()
    store = await createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: server.address }), {
      project: 'modes',
      repoPath: tmpdir(),
      entityKeySerializationVersion: 3,
    })
  }, 60_000)
  afterAll(async () => {
    await store?.close()
    await server?.remove()
  })

  const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)
  const features = Array.from({ length: 40 }, (_, i) => `f${i}`)
  async function calls(): Promise<{ hmget: number; hgetall: number }> {
    const info = await redisCli(['-p', String(server!.port), 'INFO', 'commandstats'])
    const n = (c: string): number => Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
    return { hmget: n('hmget'), hgetall: n('hgetall') }
  }

  it('uses the database a URL names', async () => {
    const s = await createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: `redis://${server!.address}/5` }), {
      project: 'db5',
      repoPath: tmpdir(),
      entityKeySerializationVersion: 3,
    })
    try {
      await s.writeBatch({ view: 'v', features: [], rows: [{ entityKey: zip(1), eventTimeMicros: 1, values: [] }] })
      expect(await redisCli(['-p', String(server!.port), '-n', '5', 'DBSIZE'])).toBe('1')
    } finally {
      await s.close()
    }
  })

  it('reports PING latency and the server figures the metrics export', async () => {
    const h = await store!.health()
    expect(h.ok).toBe(true)
    expect(h.latencyMs).toBeGreaterThan(0)
    for (const name of ['used_memory', 'instantaneous_ops_per_sec', 'keyspace_hits', 'keyspace_misses', 'connected_clients', 'nodes', 'connection_resets']) {
      expect(typeof h.stats?.[name], name).toBe('number')
    }
    expect(h.stats?.used_memory).toBeGreaterThan(0)
    expect(h.stats?.nodes).toBe(1)
  })

  it('takes whole hashes when the read wants most of them, names fields when it wants a few', async () => {
    const s = store!
    const keys = Array.from({ length: 10 }, (_, i) => zip(i))
    await s.writeBatch({
      view: 'wide',
      features,
      rows: keys.map((k) => ({ entityKey: k, eventTimeMicros: 1, values: features.map((_, i) => encodeValue(i, ValueType.INT64)) })),
    })
    const all = s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'wide', features }] }])
    const few = s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'wide', features: ['f3', 'f7'] }] }])
    await redisCli(['-p', String(server!.port), 'CONFIG', 'RESETSTAT'])
    for (let i = 0; i < 3; i++) await s.read(all, [keys])
    expect(await calls()).toEqual({ hmget: 0, hgetall: 30 })
    // The first read of `few` takes whole hashes, learns it keeps a small share, then names fields.
    for (let i = 0; i < 3; i++) {
      const [cells] = await s.read(few, [keys])
      expect(cells!.map((c) => Buffer.from(c![1]!))).toEqual(keys.map(() => encodeValue(7, ValueType.INT64)))
    }
    expect(await calls()).toEqual({ hmget: 20, hgetall: 40 })
  })

  it('reading by name, looks at one whole hash every 128 reads and goes back to whole hashes once they fit', async () => {
    const s = store!
    const keys = Array.from({ length: 10 }, (_, i) => zip(100 + i))
    const small = ['s0', 's1', 's2']
    const write = (view: string, names: readonly string[]) =>
      s.writeBatch({ view, features: names, rows: keys.map((k) => ({ entityKey: k, eventTimeMicros: 1, values: names.map((_, i) => encodeValue(i, ValueType.INT64)) })) })
    await write('small', small)
    await write('big', features)
    const read = s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'small', features: small }] }])
    await s.read(read, [keys])
    await redisCli(['-p', String(server!.port), 'CONFIG', 'RESETSTAT'])
    for (let i = 0; i < 128; i++) await s.read(read, [keys])
    // 127 reads by name, then one read whose first entity is a whole hash.
    expect(await calls()).toEqual({ hmget: 128 * 10 - 1, hgetall: 1 })
    // Without the big view the hash is what this read wants: the probes see it and switch back.
    await s.deleteViews([{ name: 'big', joinKeys: ['zipcode'], features }])
    for (let i = 0; i < 128 * 10; i++) await s.read(read, [keys])
    await redisCli(['-p', String(server!.port), 'CONFIG', 'RESETSTAT'])
    const [cells] = await s.read(read, [keys])
    expect(cells!.map((c) => Buffer.from(c![2]!))).toEqual(keys.map(() => encodeValue(2, ValueType.INT64)))
    expect(await calls()).toEqual({ hmget: 0, hgetall: 10 })
  })
})

describe('redis writes of unusual rows', () => {
  let store: RedisOnlineStore | undefined
  beforeAll(async () => {
    store = await createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: REDIS_URL }), {
      project: `odd_${Math.random().toString(36).slice(2, 8)}`,
      repoPath: tmpdir(),
      entityKeySerializationVersion: 3,
    })
  })
  afterAll(async () => {
    await store?.deleteViews([
      { name: 'wide', joinKeys: ['zipcode'], features: Array.from({ length: 2500 }, (_, i) => `f${i}`) },
      { name: 'empty', joinKeys: ['zipcode'], features: [] },
      { name: 'old', joinKeys: ['zipcode'], features: ['f'] },
    ])
    await store?.close()
  })
  const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)

  it('writes views wider than one chunk, atomically, with big values', async () => {
    const s = store!
    const features = Array.from({ length: 2500 }, (_, i) => `f${i}`)
    // Values of every MessagePack string size class, up to one past 64 KiB.
    const values = features.map((_, i) => encodeValue(i === 1000 ? 'x'.repeat(70_000) : i % 500 === 0 ? 'y'.repeat(300) : `v${i}`, ValueType.STRING))
    expect(await s.writeBatch({ view: 'wide', features, rows: [{ entityKey: zip(1), eventTimeMicros: 5, values }] })).toEqual({ written: 1, skipped: 0 })
    const [cells] = await s.read(s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'wide', features }] }]), [[zip(1)]])
    expect(cells![0]!.slice(0, 2500).map((c) => Buffer.from(c!))).toEqual(values)
  })

  it('writes a view without features (its event time only)', async () => {
    const s = store!
    expect(await s.writeBatch({ view: 'empty', features: [], rows: [{ entityKey: zip(2), eventTimeMicros: 5, values: [] }] })).toEqual({ written: 1, skipped: 0 })
    const [cells] = await s.read(s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'empty', features: [] }] }]), [[zip(2)]])
    expect(cells![0]).toHaveLength(1)
  })

  it('orders event times before 1970 and at sub-second precision like the Timestamps they are', async () => {
    const s = store!
    const times = [-86_400_000_001, -1_500_000, -1_000_000, -1, 0, 1, 999_999, 1_000_000, 1_700_000_000_123_456]
    for (const [i, t] of times.entries()) {
      const w = await s.writeBatch({ view: 'old', features: ['f'], rows: [{ entityKey: zip(3), eventTimeMicros: t, values: [encodeValue(i, ValueType.INT64)] }] })
      expect(w, `time ${t}`).toEqual({ written: 1, skipped: 0 })
      const older = await s.writeBatch({ view: 'old', features: ['f'], rows: [{ entityKey: zip(3), eventTimeMicros: t - 1, values: [encodeValue(-1, ValueType.INT64)] }] })
      expect(older, `time ${t - 1}`).toEqual({ written: 0, skipped: 1 })
    }
  })

  it('spreads a large batch over several calls and counts every row', async () => {
    const s = store!
    const rows = Array.from({ length: 1000 }, (_, i) => ({ entityKey: zip(10_000 + (i % 700)), eventTimeMicros: 10 + i, values: [encodeValue(i, ValueType.INT64)] }))
    // 300 keys appear twice; the later row of each is newer, so every row is written.
    expect(await s.writeBatch({ view: 'old', features: ['f'], rows })).toEqual({ written: 1000, skipped: 0 })
    expect(await s.writeBatch({ view: 'old', features: ['f'], rows })).toEqual({ written: 0, skipped: 1000 })
    const [cells] = await s.read(s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'old', features: ['f'] }] }]), [[zip(10_000), zip(10_699)]])
    expect(cells!.map((c) => Buffer.from(c![0]!))).toEqual([encodeValue(700, ValueType.INT64), encodeValue(699, ValueType.INT64)])
  })
})
