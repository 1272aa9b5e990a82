import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { quantile, recordFigures, round, serveInChild, type ChildServer } from '../support/fault-support.js'
import { startPlainRedis, type RedisServer } from '../support/redis-servers.js'
import { makeTestRepo } from '../support/server-harness.js'
import { uniqueProject } from '../support/temp-repo.js'

/**
 * Redis restarted under the feature server while it serves steady load (reads of known values and
 * a stream of pushes). Requests during the outage fail fast with 503, the server recovers by itself
 * once Redis is back, and no answer ever carries a wrong value: every read is checked against the
 * value written for its entity, and the pushed counter never goes backwards for any reader.
 */

const COMMAND_TIMEOUT_MS = 500
const ENTITIES = 200
const OUTAGE_MS = 3000
const READERS = 4

interface Sample {
  readonly start: number
  readonly end: number
  readonly status: number
  readonly code?: string
}

let redis: (RedisServer & { remove(): Promise<void> }) | undefined
let server: ChildServer | undefined

beforeAll(async () => {
  // Redis keeps its data across the restart (append-only file, fsync on every write), as a
  // production Redis with persistence does: after the restart the values must be the same.
  redis = await startPlainRedis(['appendonly yes', 'appendfsync always'])
}, 60_000)

afterAll(async () => {
  await server?.stop()
  await redis?.remove()
})

describe('Redis restarted under steady load', () => {
  it('answers 503 fast while Redis is down, recovers by itself, and never serves a wrong value', async () => {
    const repo = await makeTestRepo(uniqueProject('outage'), {
      onlineStore: `online_store:\n  type: redis\n  connection_string: "${redis!.address}"\n  command_timeout_ms: ${COMMAND_TIMEOUT_MS}\n  connect_timeout_ms: 1000\n`,
      empty: true,
    })
    const setup = await FeatureStore.open(repo)
    await setup.apply()
    const zips = Array.from({ length: ENTITIES }, (_, i) => 10_000 + i)
    await setup.writeToOnlineStore('zipcode_features', {
      zipcode: zips,
      event_timestamp: zips.map(() => '2024-01-15T00:00:00Z'),
      city: zips.map((z) => `city-${z}`),
      state: zips.map(() => 'TX'),
      population: zips.map((z) => z * 7),
      total_wages: zips.map((z) => z * 1000),
    })
    await setup.close()
    server = await serveInChild(repo, { logLevel: 'warn' })
    const base = server.url
    // One connection per concurrent request: no request waits in the client for a free socket.
    const agent = new Agent({ keepAlive: true, maxSockets: 2 * READERS + 1 })

    const call = (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> =>
      new Promise((resolve, reject) => {
        const payload = JSON.stringify(body)
        const req = httpRequest(`${base}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }))
        })
        req.on('error', reject)
        // A hang would show here: no request may take longer than this, outage or not.
        req.setTimeout(15_000, () => req.destroy(new Error(`${path} hung for 15 s`)))
        req.end(payload)
      })

    const reads: Sample[] = []
    const pushes: Sample[] = []
    const wrong: string[] = []
    let pushed = 0
    let acked = 0
    let stop = false

    const reader = async (n: number): Promise<void> => {
      let lastCounter = -1
      for (let i = n; !stop; i++) {
        const asked = [zips[i % ENTITIES]!, zips[(i * 7 + 3) % ENTITIES]!]
        const start = performance.now()
        const [res, counter] = await Promise.all([
          call('/get-online-features', { features: ['zipcode_features:city', 'zipcode_features:population'], entities: { zipcode: asked } }),
          call('/get-online-features', { features: ['credit_history:credit_card_due'], entities: { dob_ssn: ['counter'] } }),
        ])
        const end = performance.now()
        const failure = res.status !== 200 ? res : counter.status !== 200 ? counter : undefined
        reads.push({ start, end, status: failure?.status ?? 200, ...(failure !== undefined && { code: (failure.json.error as { code: string }).code }) })
        if (res.status === 200) {
          const results = res.json.results as Array<{ values: unknown[]; statuses: string[] }>
          const expected = [asked.map((z) => `city-${z}`), asked.map((z) => z * 7)]
          if (JSON.stringify([results[1]!.values, results[2]!.values]) !== JSON.stringify(expected) || results[1]!.statuses.some((s) => s !== 'PRESENT')) {
            wrong.push(`${JSON.stringify(asked)} → ${JSON.stringify(results.slice(1))}`)
          }
        }
        if (counter.status === 200) {
          const value = (counter.json.results as Array<{ values: Array<number | null> }>)[1]!.values[0]
          if (value !== null && value !== undefined) {
            // Monotonic for this reader, and never a value nobody pushed yet.
            if (value < lastCounter || value > pushed) wrong.push(`counter ${value} after ${lastCounter} (pushed up to ${pushed})`)
            lastCounter = value
          }
        }
        await sleep(2)
      }
    }

    const pusher = async (): Promise<void> => {
      while (!stop) {
        const k = ++pushed
        const start = performance.now()
        const res = await call('/push', {
          push_source_name: 'credit_history_push',
          df: { dob_ssn: ['counter'], event_timestamp: [new Date(Date.UTC(2024, 0, 1) + k * 1000).toISOString()], credit_card_due: [k], mortgage_due: [0], missed_payments_1y: [0] },
        })
        pushes.push({ start, end: performance.now(), status: res.status, ...(res.status !== 200 && { code: (res.json.error as { code: string }).code }) })
        if (res.status === 200) acked = k
        await sleep(10)
      }
    }

    const load = [...Array.from({ length: READERS }, (_, n) => reader(n)), pusher()]
    await sleep(3000)
    const downAt = performance.now()
    await redis!.stop()
    const stoppedAt = performance.now()
    await sleep(OUTAGE_MS)
    const restartAt = performance.now()
    await redis!.restart()
    const upAt = performance.now()
    await sleep(6000)
    stop = true
    await Promise.all(load)
    agent.destroy()

    const before = reads.filter((r) => r.end < downAt)
    const outage = reads.filter((r) => r.start >= stoppedAt && r.end <= restartAt)
    const affected = reads.filter((r) => r.status !== 200)
    const lastError = Math.max(...affected.map((r) => r.end), upAt)
    const firstOkAfter = reads.find((r) => r.start >= upAt && r.status === 200)
    const after = reads.filter((r) => r.start > lastError)

    expect(wrong, wrong.slice(0, 5).join('\n')).toEqual([])
    expect(before.every((r) => r.status === 200)).toBe(true)
    expect(outage.length).toBeGreaterThan(0)
    // Every failed read is a clear 503 (MORSEL_STORE_UNAVAILABLE), never a 500 or a 504 deadline.
    expect(new Set(affected.map((r) => `${r.status} ${r.code}`))).toEqual(new Set(['503 MORSEL_STORE_UNAVAILABLE']))
    expect(outage.every((r) => r.status === 503)).toBe(true)
    // Fail fast: bounded by `command_timeout_ms` (the wait for a reconnection), not by the 5 s request deadline.
    const maxOutageMs = Math.max(...outage.map((r) => r.end - r.start))
    expect(maxOutageMs).toBeLessThan(COMMAND_TIMEOUT_MS + 2000)
    // Recovers by itself within seconds of Redis returning, then serves without errors.
    const recoveredMs = lastError - upAt
    expect(firstOkAfter).toBeDefined()
    expect(recoveredMs).toBeLessThan(10_000)
    expect(after.length).toBeGreaterThan(50)
    // Pushes failed only while Redis was away, each with a clear code, and resumed.
    for (const p of pushes.filter((x) => x.status !== 200)) {
      expect([503, 500]).toContain(p.status)
      expect(['MORSEL_STORE_UNAVAILABLE', 'MORSEL_WRITE_FAILED']).toContain(p.code)
      expect(p.start).toBeGreaterThan(downAt - 1000)
    }
    expect(acked).toBeGreaterThan(pushes.filter((p) => p.end < downAt).length)
    expect(server.alive()).toBe(true)

    recordFigures('redis restart under load', {
      reads: reads.length,
      readsDuringOutage: outage.length,
      failedReads: affected.length,
      wrongValues: wrong.length,
      p99BeforeMs: round(quantile(before.map((r) => r.end - r.start), 0.99)),
      maxLatencyDuringOutageMs: round(maxOutageMs),
      p50LatencyDuringOutageMs: round(quantile(outage.map((r) => r.end - r.start), 0.5)),
      redisDownMs: round(upAt - stoppedAt),
      firstOkAfterRedisUpMs: round((firstOkAfter?.end ?? Number.NaN) - upAt),
      lastErrorAfterRedisUpMs: round(Math.max(0, recoveredMs)),
      p99AfterMs: round(quantile(after.map((r) => r.end - r.start), 0.99)),
      pushes: pushes.length,
      failedPushes: pushes.filter((p) => p.status !== 200).length,
      stopTookMs: round(stoppedAt - downAt),
      restartTookMs: round(upAt - restartAt),
    })
  }, 120_000)
})
