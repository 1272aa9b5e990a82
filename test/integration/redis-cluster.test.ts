import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { createClient, RESP_TYPES } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeValue, serializeEntityKey } from '../../src/encoding/index.js'
import { isMorselError } from '../../src/errors/index.js'
import type { OnlineStore } from '../../src/online/online-store.js'
import { keySlot } from '../../src/online/redis/redis-key-layout.js'
import { createRedisOnlineStore, type RedisOnlineStore } from '../../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../../src/online/redis/redis-online-store-config.js'
import { ValueType } from '../../src/types/value-type.js'
import { describeOnlineStore } from '../conformance/online-store.suite.js'
import { redisCli, startRedisCluster, type RedisClusterDeployment } from '../support/redis-servers.js'

let cluster: RedisClusterDeployment | undefined
const opened: OnlineStore[] = []

beforeAll(async () => {
  cluster = await startRedisCluster()
}, 120_000)

afterAll(async () => {
  for (const s of opened) await s.close()
  await cluster?.stop()
})

function deployment(): RedisClusterDeployment {
  if (cluster === undefined) throw new Error('the test cluster did not start')
  return cluster
}

async function open(project: string, extra: Record<string, unknown> = {}): Promise<RedisOnlineStore> {
  const store = await createRedisOnlineStore(
    redisOnlineStoreConfigSchema.parse({ type: 'redis', redis_type: 'redis_cluster', connection_string: deployment().seeds, ...extra }),
    { project, repoPath: tmpdir(), entityKeySerializationVersion: 3 },
  )
  opened.push(store)
  return store
}

describeOnlineStore('redis cluster (3 masters, 3 replicas)', { create: (project) => open(project) })
describeOnlineStore('redis cluster with the client-side cache', { create: (project) => open(project, { client_side_cache: { enabled: true } }) })

const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)
const i64 = (n: number): Buffer => encodeValue(n, ValueType.INT64)
const T0 = Date.UTC(2024, 0, 15) * 1000
const VIEW = { joinKeys: ['zipcode'], views: [{ name: 'zipcode_features', features: ['population'] }] }
const project = (): string => `cl_${randomBytes(4).toString('hex')}`

/** A raw client on one node, for test setup and inspection. */
async function nodeClient(port: number) {
  const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  c.on('error', () => undefined)
  await c.connect()
  return c
}

async function masterOfSlot(slot: number, table?: string): Promise<{ id: string; port: number }> {
  const nodes = table ?? (await redisCli(['-p', String(deployment().nodes[0]!.port), 'CLUSTER', 'NODES']))
  for (const line of nodes.split('\n')) {
    const [id, address, flags, , , , , , ...ranges] = line.split(' ')
    if (!flags!.includes('master')) continue
    for (const r of ranges) {
      const [from, to] = r.split('-').map(Number)
      if (slot >= from! && slot <= (to ?? from!)) return { id: id!, port: Number(address!.split(':')[1]!.split('@')[0]) }
    }
  }
  throw new Error(`no master serves slot ${slot}`)
}

describe('redis cluster specifics', () => {
  it('computes the same hash slot as the server, hash tags included', async () => {
    const c = await nodeClient(deployment().nodes[0]!.port)
    try {
      const samples = [Buffer.concat([zip(76104), Buffer.from('credit_scoring_local')]), Buffer.from('a{tag}b'), Buffer.from('{}x'), Buffer.from([0, 255, 123, 1, 125, 7])]
      for (let i = 0; i < 50; i++) samples.push(randomBytes(1 + (i % 40)))
      for (const key of samples) {
        expect(keySlot(key)).toBe(Number(await c.sendCommand(['CLUSTER', 'KEYSLOT', key])))
      }
    } finally {
      c.destroy()
    }
  })

  it('spreads one multi-entity read over every master and answers in order', async () => {
    const s = await open(project())
    const keys = Array.from({ length: 120 }, (_, i) => zip(i))
    const slots = new Set<number>()
    const table = await redisCli(['-p', String(deployment().nodes[0]!.port), 'CLUSTER', 'NODES'])
    for (const k of keys) slots.add((await masterOfSlot(keySlot(Buffer.concat([k, s.layout.suffix])), table)).port)
    expect(slots.size).toBe(3)
    await s.writeBatch({ view: 'zipcode_features', features: ['population'], rows: keys.map((k, i) => ({ entityKey: k, eventTimeMicros: T0, values: [i64(i)] })) })
    const [cells] = await s.read(s.prepareRead([VIEW]), [keys])
    expect(cells!.map((c) => Buffer.from(c![0]!))).toEqual(keys.map((_, i) => i64(i)))
  })

  it('follows a slot moved to another master (MOVED) and one being migrated (ASK)', async () => {
    const s = await open(project())
    const key = zip(4242)
    const redisKey = Buffer.concat([key, s.layout.suffix])
    const slot = keySlot(redisKey)
    await s.writeBatch({ view: 'zipcode_features', features: ['population'], rows: [{ entityKey: key, eventTimeMicros: T0, values: [i64(1)] }] })
    const prepared = s.prepareRead([VIEW])
    expect(Buffer.from((await s.read(prepared, [[key]]))[0]![0]![0]!)).toEqual(i64(1))

    const source = await masterOfSlot(slot)
    const masters = deployment().nodes.filter((n) => n.port !== source.port)
    let target: { id: string; port: number } | undefined
    for (const n of masters) {
      const id = await redisCli(['-p', String(n.port), 'CLUSTER', 'MYID'])
      const role = await redisCli(['-p', String(n.port), 'ROLE'])
      if (role.startsWith('master')) {
        target = { id, port: n.port }
        break
      }
    }
    const src = await nodeClient(source.port)
    const dst = await nodeClient(target!.port)
    try {
      await dst.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id])
      await src.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target!.id])
      await src.sendCommand(['MIGRATE', '127.0.0.1', String(target!.port), '', '0', '5000', 'KEYS', redisKey])
      // Mid-migration the source answers ASK for the moved key.
      expect(Buffer.from((await s.read(prepared, [[key]]))[0]![0]![0]!)).toEqual(i64(1))
      for (const n of deployment().nodes) {
        if ((await redisCli(['-p', String(n.port), 'ROLE'])).startsWith('master')) {
          const c = await nodeClient(n.port)
          await c.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', target!.id])
          c.destroy()
        }
      }
      // The store's slot map still names the source, which now answers MOVED.
      expect(Buffer.from((await s.read(prepared, [[key]]))[0]![0]![0]!)).toEqual(i64(1))
      const w = await s.writeBatch({ view: 'zipcode_features', features: ['population'], rows: [{ entityKey: key, eventTimeMicros: T0 + 1, values: [i64(2)] }] })
      expect(w).toEqual({ written: 1, skipped: 0 })
      expect(Buffer.from((await s.read(prepared, [[key]]))[0]![0]![0]!)).toEqual(i64(2))
      expect((await dst.sendCommand<Buffer>(['HGET', redisKey, '_ts:zipcode_features'])).length).toBeGreaterThan(0)
    } finally {
      src.destroy()
      dst.destroy()
    }
  })

  it('invalidates cached entities on every master it reads from', async () => {
    const p = project()
    const reader = await open(p, { client_side_cache: { enabled: true } })
    const writer = await open(p)
    const keys = Array.from({ length: 60 }, (_, i) => zip(500 + i))
    const prepared = reader.prepareRead([VIEW])
    const write = (v: number) =>
      writer.writeBatch({ view: 'zipcode_features', features: ['population'], rows: keys.map((k) => ({ entityKey: k, eventTimeMicros: T0 + v, values: [i64(v)] })) })
    await write(1)
    await reader.read(prepared, [keys])
    await reader.read(prepared, [keys])
    expect((await reader.health()).stats?.client_cache_hits).toBe(keys.length)
    await write(2)
    // A PING on every master's connection is answered after the invalidations sent before it.
    await reader.health()
    const [cells] = await reader.read(prepared, [keys])
    expect(cells!.map((c) => Buffer.from(c![0]!))).toEqual(keys.map(() => i64(2)))
  })

  it('reads from replicas when asked to, once they have the data', async () => {
    const p = project()
    const writer = await open(p)
    const reader = await open(p, { read_from_replicas: true })
    const keys = Array.from({ length: 30 }, (_, i) => zip(100 + i))
    await writer.writeBatch({ view: 'zipcode_features', features: ['population'], rows: keys.map((k, i) => ({ entityKey: k, eventTimeMicros: T0, values: [i64(i)] })) })
    const replicaPorts: number[] = []
    for (const n of deployment().nodes) {
      if ((await redisCli(['-p', String(n.port), 'ROLE'])).startsWith('slave')) replicaPorts.push(n.port)
      await redisCli(['-p', String(n.port), 'CONFIG', 'RESETSTAT'])
    }
    // Replication is asynchronous: wait until every replica acknowledged the master's offset.
    for (const n of deployment().nodes) {
      if (replicaPorts.includes(n.port)) continue
      for (let attempt = 0; attempt < 100; attempt++) {
        const info = await redisCli(['-p', String(n.port), 'INFO', 'replication'])
        const offset = /master_repl_offset:(\d+)/.exec(info)?.[1]
        if (new RegExp(`slave0:.*offset=${offset},`).test(info)) break
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const [cells] = await reader.read(reader.prepareRead([VIEW]), [keys])
    expect(cells!.map((c) => Buffer.from(c![0]!))).toEqual(keys.map((_, i) => i64(i)))
    let replicaReads = 0
    let masterReads = 0
    for (const n of deployment().nodes) {
      const stats = await redisCli(['-p', String(n.port), 'INFO', 'commandstats'])
      const calls = Number(/cmdstat_hmget:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_hgetall:calls=(\d+)/.exec(stats)?.[1] ?? 0)
      if (replicaPorts.includes(n.port)) replicaReads += calls
      else masterReads += calls
    }
    expect(replicaReads).toBe(keys.length)
    expect(masterReads).toBe(0)
  })
})

// Last, as it stops the cluster: errors are clear and bounded, and the store comes back by itself.
describe('redis cluster down', () => {
  it('fails reads with MORSEL_STORE_UNAVAILABLE while the cluster is down, then recovers', async () => {
    const s = await open(project(), { command_timeout_ms: 500, connect_timeout_ms: 1000 })
    const key = zip(7)
    await s.writeBatch({ view: 'zipcode_features', features: ['population'], rows: [{ entityKey: key, eventTimeMicros: T0, values: [i64(7)] }] })
    const prepared = s.prepareRead([VIEW])
    await Promise.all(deployment().nodes.map((n) => n.stop()))
    const err = await s.read(prepared, [[key]]).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain('Redis Cluster')

    const fresh = await createRedisOnlineStore(
      redisOnlineStoreConfigSchema.parse({ type: 'redis', redis_type: 'redis_cluster', connection_string: deployment().seeds, connect_timeout_ms: 1000 }),
      { project: 'x', repoPath: tmpdir(), entityKeySerializationVersion: 3 },
    ).catch((e: unknown) => e)
    expect(isMorselError(fresh, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)

    for (const n of deployment().nodes) await n.restart()
    await deployment().waitHealthy()
    let cells: unknown
    for (let attempt = 0; attempt < 100 && cells === undefined; attempt++) {
      cells = await s.read(prepared, [[key]]).then(
        (r) => r[0]![0],
        () => new Promise((r) => setTimeout(() => r(undefined), 200)),
      )
    }
    // Data written before the stop is gone (the test servers keep nothing on disk); the store works again.
    expect(cells === null || Array.isArray(cells)).toBe(true)
    const w = await s.writeBatch({ view: 'zipcode_features', features: ['population'], rows: [{ entityKey: key, eventTimeMicros: T0, values: [i64(8)] }] })
    expect(w.written).toBe(1)
  }, 120_000)
})
