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
})
