/**
 * Micro-benchmarks of the Redis online store on the local Redis (127.0.0.1:6379 or
 * MORSEL_BENCH_REDIS_URL). Run: `npx jiti bench/redis-online-store.bench.ts [reads|writes|all]`.
 *
 * reads   HMGET vs HGETALL for hashes of several widths (server µs per call from INFO
 *         commandstats, client µs per entity), then `store.read` of 1 and 100 entities.
 * writes  `writeBatch` of 10k-row batches × 15 features against `redis-cli --pipe` of the same
 *         rows as plain HSETs (the bulk-loading floor), rows/s.
 *
 * Numbers on a shared 2-vCPU machine move ±30% between runs; each figure is the best of several.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, RESP_TYPES, type RedisArgument } from 'redis'
import { encodeTimestamp, encodeValue, featureFieldKey, serializeEntityKey } from '../src/encoding/index.js'
import type { OnlineWriteRow } from '../src/online/online-store.js'
import { createRedisOnlineStore } from '../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../src/online/redis/redis-online-store-config.js'
import { ValueType } from '../src/types/value-type.js'

const URL = process.env.MORSEL_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const which = process.argv[2] ?? 'all'
const project = `bench_${randomBytes(4).toString('hex')}`
const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)
const T0 = Date.UTC(2024, 0, 15) * 1000

const raw = createClient({ url: URL, RESP: 3, commandOptions: { timeout: 0 } }).withTypeMapping({
  [RESP_TYPES.BLOB_STRING]: Buffer,
  [RESP_TYPES.MAP]: Array,
})
await raw.connect()

/** Server µs spent in `command` since the last CONFIG RESETSTAT. */
async function serverTotalUsec(command: string): Promise<number> {
  const info = (await raw.sendCommand<Buffer>(['INFO', 'commandstats'])).toString()
  const m = new RegExp(`cmdstat_${command}:calls=\\d+,usec=(\\d+)`).exec(info)
  return m === null ? NaN : Number(m[1])
}

async function serverUsec(command: string): Promise<number> {
  const info = (await raw.sendCommand<Buffer>(['INFO', 'commandstats'])).toString()
  const m = new RegExp(`cmdstat_${command}:calls=\\d+,usec=\\d+,usec_per_call=([\\d.]+)`).exec(info)
  return m === null ? NaN : Number(m[1])
}

function best(xs: number[], mode: 'min' | 'max'): number {
  return mode === 'min' ? Math.min(...xs) : Math.max(...xs)
}

async function cleanup(): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await raw.sendCommand<[Buffer, Buffer[]]>(['SCAN', cursor, 'MATCH', `*${project}`, 'COUNT', '10000'])
    cursor = next.toString()
    if (keys.length > 0) await raw.sendCommand(['DEL', ...keys])
  } while (cursor !== '0')
}

async function reads(): Promise<void> {
  console.log('\n## reads: HMGET of every field vs HGETALL, 100 entities per pipeline')
  console.log('| fields in hash | fields read | HMGET server µs | HGETALL server µs | HMGET client µs/entity | HGETALL client µs/entity |')
  console.log('|---|---|---|---|---|---|')
  const N = 2000
  for (const [width, wanted] of [
    [8, 8],
    [16, 16],
    [32, 32],
    [50, 50],
    [50, 15],
  ] as const) {
    const view = `w${width}`
    const fields = Array.from({ length: width }, (_, i) => featureFieldKey(view, `f${i}`))
    const keys = Array.from({ length: N }, (_, i) => Buffer.concat([zip(i), Buffer.from(project)]))
    for (const key of keys) {
      const args: RedisArgument[] = ['HSET', key, `_ts:${view}`, encodeTimestamp(T0)]
      for (const f of fields) args.push(f, encodeValue(Math.random(), ValueType.DOUBLE))
      void raw.sendCommand(args)
    }
    await raw.sendCommand(['PING'])
    const hmget = keys.map((k) => ['HMGET', k, ...fields.slice(0, wanted), `_ts:${view}`] as RedisArgument[])
    const hgetall = keys.map((k) => ['HGETALL', k] as RedisArgument[])
    const result: Record<string, { server: number[]; client: number[] }> = { hmget: { server: [], client: [] }, hgetall: { server: [], client: [] } }
    for (let rep = 0; rep < 5; rep++) {
      for (const [name, cmds] of [
        ['hmget', hmget],
        ['hgetall', hgetall],
      ] as const) {
        await raw.sendCommand(['CONFIG', 'RESETSTAT'])
        const t0 = performance.now()
        for (let i = 0; i < N; i += 100) await Promise.all(cmds.slice(i, i + 100).map((c) => raw.sendCommand(c)))
        const us = ((performance.now() - t0) * 1000) / N
        result[name]!.client.push(us)
        result[name]!.server.push(await serverUsec(name))
      }
    }
    const r = result
    console.log(
      `| ${width} | ${wanted} | ${best(r.hmget!.server, 'min').toFixed(2)} | ${best(r.hgetall!.server, 'min').toFixed(2)} | ${best(r.hmget!.client, 'min').toFixed(2)} | ${best(r.hgetall!.client, 'min').toFixed(2)} |`,
    )
  }
  await cleanup()

  console.log('\n## store.read (standalone, 15 features + ts, µs per call, best of 5 × 2000 calls)')
  const store = await createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: URL }), {
    project,
    repoPath: tmpdir(),
    entityKeySerializationVersion: 3,
  })
  const features = Array.from({ length: 15 }, (_, i) => `f${i}`)
  const rows: OnlineWriteRow[] = Array.from({ length: 1000 }, (_, i) => ({
    entityKey: zip(i),
    eventTimeMicros: T0,
    values: features.map(() => encodeValue(Math.random(), ValueType.DOUBLE)),
  }))
  await store.writeBatch({ view: 'v', features, rows })
  const prepared = store.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'v', features }] }])
  for (const batch of [1, 100]) {
    const times: number[] = []
    for (let rep = 0; rep < 5; rep++) {
      const t0 = performance.now()
      for (let i = 0; i < 2000; i++) {
        const keys = Array.from({ length: batch }, (_, j) => rows[(i * batch + j) % rows.length]!.entityKey)
        await store.read(prepared, [keys])
      }
      times.push(((performance.now() - t0) * 1000) / 2000)
    }
    console.log(`${batch} entities: ${best(times, 'min').toFixed(1)} µs per read`)
  }
  await store.deleteViews([{ name: 'v', joinKeys: ['zipcode'], features }])
  await store.close()
}

async function writes(): Promise<void> {
  console.log('\n## writes: 10k-row batches × 15 features (Value double), rows/s')
  const N = 10_000
  const features = Array.from({ length: 15 }, (_, i) => `f${i}`)
  const store = await createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: URL }), {
    project,
    repoPath: tmpdir(),
    entityKeySerializationVersion: 3,
  })
  const values = features.map((_, i) => encodeValue(i + 0.5, ValueType.DOUBLE))
  const morsel: number[] = []
  const pipe: number[] = []
  const clientUs: number[] = []
  const serverUs: number[] = []
  for (let rep = 0; rep < 5; rep++) {
    const base = rep * N
    const rows: OnlineWriteRow[] = Array.from({ length: N }, (_, i) => ({ entityKey: zip(base + i), eventTimeMicros: T0 + rep, values }))
    await raw.sendCommand(['CONFIG', 'RESETSTAT'])
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    await store.writeBatch({ view: 'v', features, rows })
    morsel.push(N / ((performance.now() - t0) / 1000))
    const used = process.cpuUsage(cpu)
    clientUs.push((used.user + used.system) / N)
    serverUs.push((await serverTotalUsec('evalsha')) / N)
  }

  // The same rows as redis-cli --pipe would load them: plain HSETs, no newest-wins check.
  const dir = mkdtempSync(join(tmpdir(), 'morsel-bench-'))
  const fields = features.map((f) => featureFieldKey('vpipe', f))
  const files = Array.from({ length: 5 }, (_, rep) => {
    const chunks: Buffer[] = []
    const bulk = (b: Buffer | string): void => {
      const buf = typeof b === 'string' ? Buffer.from(b) : b
      chunks.push(Buffer.from(`$${buf.length}\r\n`), buf, Buffer.from('\r\n'))
    }
    for (let i = 0; i < N; i++) {
      const args: Array<Buffer | string> = ['HSET', Buffer.concat([zip(rep * N + i), Buffer.from(project)]), '_ts:vpipe', encodeTimestamp(T0)]
      fields.forEach((f, j) => args.push(f, values[j]!))
      chunks.push(Buffer.from(`*${args.length}\r\n`))
      args.forEach(bulk)
    }
    const file = join(dir, `pipe-${rep}.resp`)
    writeFileSync(file, Buffer.concat(chunks))
    return file
  })
  const url = new globalThis.URL(URL)
  const hsetUs: number[] = []
  for (const file of files) {
    await raw.sendCommand(['CONFIG', 'RESETSTAT'])
    const t1 = performance.now()
    execFileSync('sh', ['-c', `redis-cli -h ${url.hostname} -p ${url.port || 6379} --pipe < ${file} > /dev/null`])
    pipe.push(N / ((performance.now() - t1) / 1000))
    hsetUs.push((await serverTotalUsec('hset')) / N)
  }
  const m = best(morsel, 'max')
  const p = best(pipe, 'max')
  console.log(`Morsel writeBatch: ${Math.round(m)} rows/s; redis-cli --pipe HSET: ${Math.round(p)} rows/s; ratio ${(m / p).toFixed(2)} (wall clock, best of 5)`)
  // Wall clock on a shared 2-core box mostly measures the neighbours; CPU per row does not.
  const c = best(clientUs, 'min')
  const sv = best(serverUs, 'min')
  const h = best(hsetUs, 'min')
  console.log(`CPU per row: Morsel client ${c.toFixed(2)} µs, Redis running the write script ${sv.toFixed(2)} µs; redis-cli --pipe's HSET on Redis ${h.toFixed(2)} µs`)
  console.log(`Throughput bound by the busier side, one core each: Morsel ${Math.round(1e6 / Math.max(c, sv))} rows/s, redis-cli --pipe ${Math.round(1e6 / h)} rows/s (ratio ${(h / Math.max(c, sv)).toFixed(2)})`)
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  await cleanup()
}

try {
  if (which === 'reads' || which === 'all') await reads()
  if (which === 'writes' || which === 'all') await writes()
} finally {
  await cleanup()
  await raw.close()
}
