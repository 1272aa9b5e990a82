import { tmpdir } from 'node:os'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeTimestamp, encodeValue, serializeEntityKey } from '../../src/encoding/index.js'
import { isMorselError, type MorselError } from '../../src/errors/index.js'
import type { OnlineStore } from '../../src/online/online-store.js'
import { createRedisOnlineStore, type RedisOnlineStore } from '../../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../../src/online/redis/redis-online-store-config.js'
import { ValueType } from '../../src/types/value-type.js'
import { freePort, startPlainRedis, type RedisServer } from '../support/redis-servers.js'

/**
 * Redis failing under the store: unreachable, refusing credentials, stopping, hanging, answering
 * errors for some rows. Every case ends in a clear MorselError (bounded by the configured timeouts;
 * a hang would fail the test by its own timeout), and the store recovers without being reopened.
 */

const PASSWORD = 'fail-test-secret-7723'
let server: (RedisServer & { remove(): Promise<void> }) | undefined
const opened: OnlineStore[] = []

beforeAll(async () => {
  server = await startPlainRedis([`requirepass ${PASSWORD}`])
}, 60_000)

afterAll(async () => {
  for (const s of opened) await s.close()
  await server?.remove()
})

function plain(): RedisServer {
  if (server === undefined) throw new Error('the test server did not start')
  return server
}

function config(extra: Record<string, unknown> = {}) {
  return redisOnlineStoreConfigSchema.parse({
    type: 'redis',
    connection_string: `${plain().address},password=${PASSWORD}`,
    connect_timeout_ms: 1000,
    command_timeout_ms: 400,
    ...extra,
  })
}

async function open(project: string, extra: Record<string, unknown> = {}): Promise<RedisOnlineStore> {
  const store = await createRedisOnlineStore(config(extra), { project, repoPath: tmpdir(), entityKeySerializationVersion: 3 })
  opened.push(store)
  return store
}

async function raw() {
  const c = createClient({ socket: { host: '127.0.0.1', port: plain().port, reconnectStrategy: false }, password: PASSWORD })
  c.on('error', () => undefined)
  await c.connect()
  return c
}

const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)
const i64 = (n: number): Buffer => encodeValue(n, ValueType.INT64)
const T0 = Date.UTC(2024, 0, 15) * 1000
const VIEW = { joinKeys: ['zipcode'], views: [{ name: 'v', features: ['f'] }] }
const row = (n: number, micros = T0) => ({ entityKey: zip(n), eventTimeMicros: micros, values: [i64(n)] })

async function eventually<T>(attempt: () => Promise<T>): Promise<T> {
  let last: unknown
  for (let i = 0; i < 150; i++) {
    try {
      return await attempt()
    } catch (err) {
      last = err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw last
}

describe('redis failures', () => {
  it('reports an unreachable server as MORSEL_STORE_UNAVAILABLE, naming it and not the password', async () => {
    const port = await freePort()
    const err = (await createRedisOnlineStore(
      redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: `127.0.0.1:${port},password=${PASSWORD}`, connect_timeout_ms: 800 }),
      { project: 'unreachable', repoPath: tmpdir(), entityKeySerializationVersion: 3 },
    ).catch((e: unknown) => e)) as MorselError
    expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    expect(err.message).toContain(`127.0.0.1:${port}`)
    expect(err.message).toContain('ECONNREFUSED')
    expect(err.message).not.toContain(PASSWORD)
  })

  it('reports a wrong or missing password as MORSEL_STORE_AUTH at once', async () => {
    for (const connection of [`${plain().address},password=wrong-${PASSWORD}`, plain().address]) {
      const err = (await createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: connection, connect_timeout_ms: 5000 }), {
        project: 'badauth',
        repoPath: tmpdir(),
        entityKeySerializationVersion: 3,
      }).catch((e: unknown) => e)) as MorselError
      expect(isMorselError(err, 'MORSEL_STORE_AUTH')).toBe(true)
      expect(err.message).not.toContain(PASSWORD)
    }
  })

  it('fails within the command timeout while Redis is stopped, and recovers by itself when it is back', async () => {
    const s = await open('stopped')
    const prepared = s.prepareRead([VIEW])
    await s.writeBatch({ view: 'v', features: ['f'], rows: [row(1)] })
    await plain().stop()
    const err = (await s.read(prepared, [[zip(1)]]).catch((e: unknown) => e)) as MorselError
    expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    const write = (await s.writeBatch({ view: 'v', features: ['f'], rows: [row(2)] }).catch((e: unknown) => e)) as MorselError
    expect(isMorselError(write, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    expect((await s.health()).ok).toBe(false)

    await plain().restart()
    // The test server keeps nothing on disk: the entity is gone, and the store answers again.
    const result = await eventually(() => s.read(prepared, [[zip(1)]]))
    expect(result[0]![0]).toBeNull()
    expect(await s.writeBatch({ view: 'v', features: ['f'], rows: [row(3)] })).toEqual({ written: 1, skipped: 0 })
    expect((await s.health()).ok).toBe(true)
  })

  it('times out on a server that stops answering, replaces the connection, and recovers', async () => {
    const s = await open('hung')
    const prepared = s.prepareRead([VIEW])
    await s.writeBatch({ view: 'v', features: ['f'], rows: [row(4)] })
    plain().pause()
    try {
      for (let i = 0; i < 3; i++) {
        const err = (await s.read(prepared, [[zip(4)]]).catch((e: unknown) => e)) as MorselError
        expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
        expect(err.message).toMatch(/did not answer within 400 ms|not connected|reconnecting/)
      }
      const w = (await s.writeBatch({ view: 'v', features: ['f'], rows: [row(5)] }).catch((e: unknown) => e)) as MorselError
      expect(w.code).toMatch(/MORSEL_WRITE_FAILED|MORSEL_STORE_UNAVAILABLE/)
    } finally {
      plain().resume()
    }
    const result = await eventually(() => s.read(prepared, [[zip(4)]]))
    expect(Buffer.from(result[0]![0]![0]!)).toEqual(i64(4))
    const health = await eventually(async () => {
      const h = await s.health()
      if (!h.ok) throw new Error('not healthy yet')
      return h
    })
    expect(health.stats?.connection_resets).toBeGreaterThanOrEqual(1)
  })

  it('gives up on the caller’s signal with MORSEL_TIMEOUT', async () => {
    const s = await open('aborted')
    const controller = new AbortController()
    controller.abort()
    const err = await s.read(s.prepareRead([VIEW]), [[zip(1)]], { signal: controller.signal }).catch((e: unknown) => e)
    expect(isMorselError(err, 'MORSEL_TIMEOUT')).toBe(true)
  })

  it('reports exactly the rows a batch could not write; retrying the batch is safe', async () => {
    const s = await open('partial')
    const c = await raw()
    try {
      // Something that is not a hash sits at the key of row 1.
      const blocked = Buffer.concat([zip(11), s.layout.suffix])
      await c.set(blocked, 'not a hash')
      const rows = [row(10), row(11), row(12)]
      const err = (await s.writeBatch({ view: 'v', features: ['f'], rows }).catch((e: unknown) => e)) as MorselError
      expect(isMorselError(err, 'MORSEL_WRITE_FAILED')).toBe(true)
      expect(err.details.failedRows).toEqual([1])
      expect(err.details.written).toBe(2)
      expect(err.message).toContain('WRONGTYPE')
      await c.del(blocked)
      expect(await s.writeBatch({ view: 'v', features: ['f'], rows })).toEqual({ written: 1, skipped: 2 })
      const [cells] = await s.read(s.prepareRead([VIEW]), [rows.map((r) => r.entityKey)])
      expect(cells!.map((x) => Buffer.from(x![0]!))).toEqual([i64(10), i64(11), i64(12)])
    } finally {
      c.destroy()
    }
  })

  it('reloads the write script when Redis forgot it (restart, failover, SCRIPT FLUSH)', async () => {
    const s = await open('noscript')
    await s.writeBatch({ view: 'v', features: ['f'], rows: [row(20)] })
    const c = await raw()
    try {
      await c.sendCommand(['SCRIPT', 'FLUSH'])
    } finally {
      c.destroy()
    }
    expect(await s.writeBatch({ view: 'v', features: ['f'], rows: [row(21), row(20, T0 + 1)] })).toEqual({ written: 2, skipped: 0 })
  })

  it('reports a stored event time that is not a Timestamp instead of guessing', async () => {
    const s = await open('badts')
    const c = await raw()
    try {
      await c.hSet(Buffer.concat([zip(30), s.layout.suffix]), '_ts:v', Buffer.from([0xff]))
      const err = (await s.writeBatch({ view: 'v', features: ['f'], rows: [row(30)] }).catch((e: unknown) => e)) as MorselError
      expect(err.details.failedRows).toEqual([0])
      expect(err.message).toContain('not a protobuf Timestamp')
      // A valid older time is judged and replaced normally.
      await c.hSet(Buffer.concat([zip(30), s.layout.suffix]), '_ts:v', encodeTimestamp(T0 - 1))
      expect(await s.writeBatch({ view: 'v', features: ['f'], rows: [row(30)] })).toEqual({ written: 1, skipped: 0 })
    } finally {
      c.destroy()
    }
  })
})
