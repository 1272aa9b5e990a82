/**
 * The feature server against a bare `node:http` handler doing the same Redis work (one HMGET of
 * 15 features + the timestamp, decoded, answered as Feast JSON), for one entity × 15 features.
 * Each server runs in its own process; the load generator shares the machine's cores with it.
 * Run: `npx jiti bench/feature-server.bench.ts` (Redis on 127.0.0.1:6379 or MORSEL_BENCH_REDIS_URL).
 *
 * sequential   one keep-alive connection, requests one after another: p50/p90/p99/p99.9 µs
 * throughput   32 requests in flight for 5 s: requests/s
 * half load    open loop at half the server's throughput for 5 s, latency measured from each
 *              request's scheduled send time (no coordinated omission): p50/p99/p99.9 µs
 *
 * Numbers on a shared 2-vCPU machine move ±20% between runs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, createServer, request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { createClient, RESP_TYPES } from 'redis'
import { FeatureStore } from '../src/index.js'
import { decodeTimestamp, decodeValue, featureFieldKey, serializeEntityKey } from '../src/encoding/index.js'
import { formatMicros } from '../src/internal/time.js'
import { startFeatureServer } from '../src/server/start-feature-server.js'
import { ValueType } from '../src/types/value-type.js'
import { makeRepo, uniqueProject } from '../test/support/temp-repo.js'

const REDIS = process.env.MORSEL_BENCH_REDIS_URL ?? '127.0.0.1:6379'
const FEATURES = Array.from({ length: 15 }, (_, i) => `f${i}`)
const ENTITIES = 10_000
const VIEW = 'user_stats'

if (process.argv[2] === 'serve') await serve(process.argv[3] as 'morsel' | 'bare', process.argv[4]!, process.argv[5]!)
else await main()

async function main(): Promise<void> {
  const project = uniqueProject('bench')
  const header = ['event_timestamp', 'user_id', ...FEATURES]
  const repo = makeRepo({
    'feature_store.yaml': `project: ${project}\nregistry: data/registry.json\nonline_store:\n  type: redis\n  connection_string: "${REDIS}"\n`,
    'features.ts': `import { Entity, FeatureView, FileSource, types } from 'morsel'
export const user = new Entity({ name: 'user_id', valueType: types.Int64 })
export const stats = new FeatureView({
  name: '${VIEW}', entities: [user],
  source: new FileSource({ name: 'stats_source', path: 'data/stats.csv', timestampField: 'event_timestamp' }),
  schema: { ${FEATURES.map((f) => `${f}: types.Float64`).join(', ')} },
})
`,
    'data/stats.csv': `${header.join(',')}\n2024-01-15T00:00:00Z,1,${FEATURES.map(() => '0.5').join(',')}\n`,
  })
  const store = await FeatureStore.open(repo)
  await store.apply()
  const columns: Record<string, unknown[]> = { user_id: [], event_timestamp: [] }
  for (const f of FEATURES) columns[f] = []
  for (let i = 0; i < ENTITIES; i++) {
    columns.user_id!.push(i)
    columns.event_timestamp!.push('2024-01-15T00:00:00Z')
    for (const f of FEATURES) columns[f]!.push(Math.random())
  }
  await store.writeToOnlineStore(VIEW, columns)

  console.log(`# feature server vs bare node:http + node-redis, 1 entity × 15 features (Node ${process.version})\n`)
  console.log('| server | seq p50 µs | seq p90 | seq p99 | seq p99.9 | req/s (32 in flight) | server CPU µs/req | half-load rate | half p50 µs | half p99 | half p99.9 |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|')
  const results: Record<string, { rps: number; cpu: number; seq: number[] }> = {}
  // Alternating rounds, best of each: the machine is shared, and load from elsewhere comes and goes.
  for (let round = 0; round < 2; round++) {
    for (const kind of ['bare', 'morsel'] as const) {
      const { child, port } = await startChild(kind, repo, project)
      try {
        const r = await measure(port, child.pid!)
        const prev = results[kind]
        results[kind] = prev === undefined ? r : { rps: Math.max(prev.rps, r.rps), cpu: Math.min(prev.cpu, r.cpu), seq: prev.seq[0]! < r.seq[0]! ? prev.seq : r.seq }
        console.log(`| ${kind} | ${r.seq.map((x) => x.toFixed(0)).join(' | ')} | ${r.rps.toFixed(0)} | ${r.cpu.toFixed(0)} | ${r.rate.toFixed(0)}/s | ${r.half.map((x) => x.toFixed(0)).join(' | ')} |`)
      } finally {
        child.kill('SIGTERM')
      }
    }
  }
  const b = results.bare!
  const m = results.morsel!
  console.log(
    `\nmorsel/bare (best rounds): throughput ${(m.rps / b.rps).toFixed(2)}× (goal ≥ 0.8×), server CPU per request ${(m.cpu / b.cpu).toFixed(2)}×, sequential p50 ${(m.seq[0]! / b.seq[0]!).toFixed(2)}× (goal ≤ 1.3×)`,
  )
  await store.teardown()
  await store.close()
}

async function startChild(kind: 'morsel' | 'bare', repo: string, project: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'jiti/register', fileURLToPath(import.meta.url), 'serve', kind, repo, project], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /^PORT (\d+)$/m.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)))
  })
  return { child, port }
}

function body(): string {
  return JSON.stringify({ features: FEATURES.map((f) => `${VIEW}:${f}`), entities: { user_id: [Math.floor(Math.random() * ENTITIES)] } })
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** CPU time (user + system) a process has used, in µs, from /proc (10 ms ticks). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function measure(port: number, pid: number): Promise<{ seq: number[]; rps: number; cpu: number; rate: number; half: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const call = (payload: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/get-online-features', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        res.on('data', () => undefined)
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))))
      })
      req.on('error', reject)
      req.end(payload)
    })

  for (let i = 0; i < 2000; i++) await call(body())
  const n = 5000
  const seq = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const payload = body()
    const t0 = performance.now()
    await call(payload)
    seq[i] = (performance.now() - t0) * 1000
  }
  seq.sort()

  let done = 0
  const cpu0 = cpuMicros(pid)
  const until = performance.now() + 5000
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        await call(body())
        done++
      }
    }),
  )
  const rps = done / 5
  const cpu = (cpuMicros(pid) - cpu0) / done

  // Open loop at half that rate: each request has a scheduled time; its latency counts from then.
  const rate = rps / 2
  const total = Math.floor(rate * 5)
  const lat = new Float64Array(total)
  const start = performance.now() + 10
  let sent = 0
  await new Promise<void>((resolve) => {
    let finished = 0
    const tick = (): void => {
      const now = performance.now()
      while (sent < total && start + (sent * 1000) / rate <= now) {
        const i = sent++
        const scheduled = start + (i * 1000) / rate
        void call(body()).then(() => {
          lat[i] = (performance.now() - scheduled) * 1000
          if (++finished === total) resolve()
        })
      }
      // A timer, not setImmediate: a spinning load generator would take a core from the server.
      if (sent < total) setTimeout(tick, 1)
    }
    tick()
  })
  lat.sort()
  agent.destroy()
  return { seq: [50, 90, 99, 99.9].map((p) => percentile(seq, p)), rps, cpu, rate, half: [50, 99, 99.9].map((p) => percentile(lat, p)) }
}

/** Child process: one of the two servers, printing its port. */
async function serve(kind: 'morsel' | 'bare', repo: string, project: string): Promise<void> {
  if (kind === 'morsel') {
    const server = await startFeatureServer({ repoPath: repo, port: 0, logLevel: 'warn' })
    console.log(`PORT ${new URL(server.urls.base).port}`)
    return
  }
  const redis = createClient({ url: `redis://${REDIS}` }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  await redis.connect()
  const fields = [...FEATURES.map((f) => featureFieldKey(VIEW, f)), Buffer.from(`_ts:${VIEW}`)]
  const suffix = Buffer.from(project)
  const names = `["user_id",${FEATURES.map((f) => `"${f}"`).join(',')}]`
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const b = JSON.parse(Buffer.concat(chunks).toString()) as { entities: { user_id: number[] } }
      const id = b.entities.user_id[0]!
      const key = Buffer.concat([serializeEntityKey([{ name: 'user_id', valueType: ValueType.INT64 }], [id], 3), suffix])
      void redis.hmGet(key, fields).then((cells) => {
        const ts = cells[FEATURES.length] as Buffer | null
        const time = ts === null ? '1970-01-01T00:00:00Z' : formatMicros(decodeTimestamp(ts))
        let out = `{"metadata":{"feature_names":${names}},"results":[{"values":[${id}],"statuses":["PRESENT"],"event_timestamps":["1970-01-01T00:00:00Z"]}`
        for (let i = 0; i < FEATURES.length; i++) {
          const cell = cells[i] as Buffer | null
          out += `,{"values":[${cell === null ? 'null' : String(decodeValue(cell))}],"statuses":["${cell === null ? 'NOT_FOUND' : 'PRESENT'}"],"event_timestamps":["${time}"]}`
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(`${out}]}`)
      })
    })
  })
  server.keepAliveTimeout = 72_000
  server.listen(0, '127.0.0.1', () => console.log(`PORT ${(server.address() as { port: number }).port}`))
}
