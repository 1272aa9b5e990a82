import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeValue, serializeEntityKey } from '../../src/encoding/index.js'
import { isMorselError } from '../../src/errors/index.js'
import type { OnlineStore } from '../../src/online/online-store.js'
import { createRedisOnlineStore } from '../../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../../src/online/redis/redis-online-store-config.js'
import { ValueType } from '../../src/types/value-type.js'
import { describeOnlineStore } from '../conformance/online-store.suite.js'
import { redisCli, startRedisSentinel, type SentinelDeployment } from '../support/redis-servers.js'

let trio: SentinelDeployment | undefined
const opened: OnlineStore[] = []

beforeAll(async () => {
  trio = await startRedisSentinel()
}, 60_000)

afterAll(async () => {
  for (const s of opened) await s.close()
  await trio?.stop()
})

function deployment(): SentinelDeployment {
  if (trio === undefined) throw new Error('the sentinel test deployment did not start')
  return trio
}

async function open(project: string, extra: Record<string, unknown> = {}): Promise<OnlineStore> {
  const store = await createRedisOnlineStore(
    redisOnlineStoreConfigSchema.parse({
      type: 'redis',
      redis_type: 'redis_sentinel',
      // Feast's form for sentinels: their addresses; the master is found by name.
      connection_string: deployment().sentinel.address,
      sentinel_master: deployment().masterName,
      ...extra,
    }),
    { project, repoPath: tmpdir(), entityKeySerializationVersion: 3 },
  )
  opened.push(store)
  return store
}

describeOnlineStore('redis through sentinel (master)', { create: (project) => open(project) })
describeOnlineStore('redis through sentinel with the client-side cache', { create: (project) => open(project, { client_side_cache: { enabled: true } }) })

const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)
const i64 = (n: number): Buffer => encodeValue(n, ValueType.INT64)
const T0 = Date.UTC(2024, 0, 15) * 1000
const VIEW = { joinKeys: ['zipcode'], views: [{ name: 'zipcode_features', features: ['population'] }] }

async function readCalls(port: number): Promise<number> {
  const stats = await redisCli(['-p', String(port), 'INFO', 'commandstats'])
  // Entity reads are HMGET or HGETALL, whichever the compiled read chose.
  return Number(/cmdstat_hmget:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_hgetall:calls=(\d+)/.exec(stats)?.[1] ?? 0)
}

describe('redis sentinel specifics', () => {
  it('serves reads from the replica when `read_from_replicas` is set, writes to the master', async () => {
    const { master, replica } = deployment()
    const p = `sn_${randomBytes(4).toString('hex')}`
    const store = await open(p, { read_from_replicas: true })
    const keys = Array.from({ length: 20 }, (_, i) => zip(i))
    await store.writeBatch({ view: 'zipcode_features', features: ['population'], rows: keys.map((k, i) => ({ entityKey: k, eventTimeMicros: T0, values: [i64(i)] })) })
    // Replication is asynchronous: wait until the replica acknowledged the master's offset.
    for (let attempt = 0; attempt < 100; attempt++) {
      const info = await redisCli(['-p', String(master.port), 'INFO', 'replication'])
      const offset = /master_repl_offset:(\d+)/.exec(info)?.[1]
      if (new RegExp(`slave0:.*offset=${offset},`).test(info)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const masterBefore = await readCalls(master.port)
    const replicaBefore = await readCalls(replica.port)
    const [cells] = await store.read(store.prepareRead([VIEW]), [keys])
    expect(cells!.map((c) => Buffer.from(c![0]!))).toEqual(keys.map((_, i) => i64(i)))
    expect((await readCalls(replica.port)) - replicaBefore).toBe(keys.length)
    expect((await readCalls(master.port)) - masterBefore).toBe(0)
  })

  it('reads from the master by default', async () => {
    const { master, replica } = deployment()
    const store = await open(`sn_${randomBytes(4).toString('hex')}`)
    const masterBefore = await readCalls(master.port)
    const replicaBefore = await readCalls(replica.port)
    await store.read(store.prepareRead([VIEW]), [[zip(1), zip(2)]])
    expect((await readCalls(master.port)) - masterBefore).toBe(2)
    expect((await readCalls(replica.port)) - replicaBefore).toBe(0)
  })

  it('uses the database given in the connection string', async () => {
    const { sentinel, master } = deployment()
    const store = await open(`sn_${randomBytes(4).toString('hex')}`, { connection_string: `${sentinel.address},db=3` })
    await store.writeBatch({ view: 'zipcode_features', features: ['population'], rows: [{ entityKey: zip(9), eventTimeMicros: T0, values: [i64(9)] }] })
    expect(Number(await redisCli(['-p', String(master.port), '-n', '3', 'DBSIZE']))).toBeGreaterThan(0)
  })

  it('fails to connect within the timeout when the master name is unknown', async () => {
    const err = await open('sn_unknown', { sentinel_master: 'no_such_master', connect_timeout_ms: 1500 }).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain(deployment().sentinel.address)
  })

  // Last: it swaps the roles of the two servers.
  it('follows a failover: writes and reads go to the promoted replica', async () => {
    const { master, replica, sentinel, masterName } = deployment()
    const store = await open(`sn_${randomBytes(4).toString('hex')}`, { command_timeout_ms: 2000 })
    await store.writeBatch({ view: 'zipcode_features', features: ['population'], rows: [{ entityKey: zip(1), eventTimeMicros: T0, values: [i64(1)] }] })
    await redisCli(['-p', String(sentinel.port), 'SENTINEL', 'FAILOVER', masterName])
    for (let i = 0; i < 100; i++) {
      if ((await redisCli(['-p', String(replica.port), 'ROLE'])).startsWith('master')) break
      await new Promise((r) => setTimeout(r, 200))
    }
    let written: unknown
    for (let i = 0; i < 100 && written === undefined; i++) {
      written = await store
        .writeBatch({ view: 'zipcode_features', features: ['population'], rows: [{ entityKey: zip(1), eventTimeMicros: T0 + 1, values: [i64(2)] }] })
        .catch(() => new Promise((r) => setTimeout(() => r(undefined), 200)))
    }
    expect(written).toEqual({ written: 1, skipped: 0 })
    expect((await redisCli(['-p', String(replica.port), 'ROLE'])).startsWith('master')).toBe(true)
    const [cells] = await store.read(store.prepareRead([VIEW]), [[zip(1)]])
    expect(Buffer.from(cells![0]![0]!)).toEqual(i64(2))
    expect(master.port).not.toBe(replica.port)
  }, 60_000)
})
