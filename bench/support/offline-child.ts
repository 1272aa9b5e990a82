/**
 * The offline parts' work, one job per process so that the process's peak RSS belongs to that job
 * alone. `node offline-child.js <job> <json args>`; prints one JSON line.
 *
 * materialize  Morsel's `materialize` of the repository into its Redis.
 * resp         The same materialization with the online store replaced by one that writes the
 *              exact commands Morsel's Redis store sends (EVALSHA of the write script, the same
 *              rows per call, the same packed argument) as RESP to a file, for `redis-cli --pipe`.
 * pit          `getHistoricalFeatures(...).toFile` of the entity file against two views.
 * pit-sql      The same join written by hand in DuckDB SQL.
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { DuckDBInstance } from '@duckdb/node-api'
import { encodeTimestamp } from '../../src/encoding/index.js'
import { FeatureStore } from '../../src/index.js'
import type { OnlineStore, OnlineWriteBatch } from '../../src/online/online-store.js'
import { featureFields, RedisKeyLayout } from '../../src/online/redis/redis-key-layout.js'
import { BYTES_PER_CALL, packedRowSize, ROWS_PER_CALL, WRITE_ROWS_SHA, writePackedRow } from '../../src/online/redis/write-script.js'

export interface ChildResult {
  readonly seconds: number
  readonly rows: number
  readonly peakRssMb: number
}

const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024)

interface Window {
  readonly start: string
  readonly end: string
}

async function materialize(repo: string, window: Window): Promise<ChildResult> {
  const store = await FeatureStore.open(repo)
  try {
    await store.onlineStore()
    const t0 = performance.now()
    const r = await store.materialize({ start: new Date(window.start), end: new Date(window.end) })
    const seconds = (performance.now() - t0) / 1000
    return { seconds, rows: r.views.reduce((n, v) => n + v.written, 0), peakRssMb: peakRssMb() }
  } finally {
    await store.close()
  }
}

function resp(args: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a.buffer, a.byteOffset, a.byteLength)
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

async function respFile(repo: string, window: Window, project: string, file: string): Promise<ChildResult> {
  const fd = openSync(file, 'w')
  const layout = new RedisKeyLayout(project, 3)
  let rows = 0
  const recorder: OnlineStore = {
    kind: 'redis',
    capabilities: { atomicBatchWrite: false },
    prepareRead: () => {
      throw new Error('the recording store does not read')
    },
    read: () => Promise.reject(new Error('the recording store does not read')),
    writeBatch: (batch: OnlineWriteBatch) => {
      const fields = featureFields(batch.view, batch.features)
      for (let from = 0; from < batch.rows.length; ) {
        let to = from
        let size = 0
        const stamps: Buffer[] = []
        while (to < batch.rows.length && to - from < ROWS_PER_CALL) {
          const stamp = encodeTimestamp(batch.rows[to]!.eventTimeMicros)
          const s = packedRowSize(stamp, fields, batch.rows[to]!.values)
          if (to > from && size + s > BYTES_PER_CALL) break
          stamps.push(stamp)
          size += s
          to++
        }
        const packed = Buffer.allocUnsafe(size)
        let pos = 0
        const keys: Buffer[] = []
        for (let r = from; r < to; r++) {
          const row = batch.rows[r]!
          keys.push(layout.key(row.entityKey))
          const micros = Math.floor(row.eventTimeMicros)
          const seconds = Math.floor(micros / 1_000_000)
          pos = writePackedRow(packed, pos, seconds, (micros - seconds * 1_000_000) * 1000, stamps[r - from]!, fields, row.values)
        }
        writeSync(fd, resp(['EVALSHA', WRITE_ROWS_SHA, String(to - from), ...keys, `_ts:${batch.view}`, '0', packed]))
        from = to
      }
      rows += batch.rows.length
      return Promise.resolve({ written: batch.rows.length, skipped: 0 })
    },
    deleteViews: () => Promise.resolve(),
    health: () => Promise.resolve({ ok: true }),
    close: () => Promise.resolve(),
  }
  const store = await FeatureStore.open({ repoPath: repo, onlineStore: recorder })
  try {
    const t0 = performance.now()
    await store.materialize({ start: new Date(window.start), end: new Date(window.end) })
    return { seconds: (performance.now() - t0) / 1000, rows, peakRssMb: peakRssMb() }
  } finally {
    closeSync(fd)
    await store.close()
  }
}

async function pit(repo: string, entities: string, features: string[], out: string): Promise<ChildResult> {
  const store = await FeatureStore.open(repo)
  try {
    const t0 = performance.now()
    const { rows } = await store.getHistoricalFeatures({ entities: { path: entities }, features }).toFile(out)
    return { seconds: (performance.now() - t0) / 1000, rows, peakRssMb: peakRssMb() }
  } finally {
    await store.close()
  }
}

async function pitSql(sql: string): Promise<ChildResult> {
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  try {
    await conn.run("SET TimeZone = 'UTC'")
    const t0 = performance.now()
    const reader = await conn.runAndReadAll(sql)
    const seconds = (performance.now() - t0) / 1000
    return { seconds, rows: Number(reader.getRows()[0]?.[0] ?? 0), peakRssMb: peakRssMb() }
  } finally {
    conn.closeSync()
    db.closeSync()
  }
}

const [job, raw] = process.argv.slice(2)
const a = JSON.parse(raw!) as Record<string, unknown>
let result: ChildResult
switch (job) {
  case 'materialize':
    result = await materialize(a.repo as string, a.window as Window)
    break
  case 'resp':
    result = await respFile(a.repo as string, a.window as Window, a.project as string, a.file as string)
    break
  case 'pit':
    result = await pit(a.repo as string, a.entities as string, a.features as string[], a.out as string)
    break
  case 'pit-sql':
    result = await pitSql(a.sql as string)
    break
  default:
    throw new Error(`unknown job ${job}`)
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
