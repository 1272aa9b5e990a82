/**
 * The HTTP load generator, run as its own process (`node loadgen.js <config.json>`) so that its
 * work is not done on the server's event loop. It speaks just enough HTTP/1.1 over keep-alive
 * sockets (one request in flight per socket) to cost the machine less than node:http's client,
 * times with process.hrtime (ns), and prints one JSON line of results.
 *
 * closed  `connections` sockets, each sending its next request when the last answer arrived.
 * open    requests at a fixed `rate` on a schedule fixed in advance; each latency counts from its
 *         scheduled send time, so a stalled server shows up in the figures instead of slowing the
 *         generator down (no coordinated omission). Requests wait for a free socket (up to
 *         `connections`) when every socket is busy; that wait is part of the latency.
 */
import { readFileSync } from 'node:fs'
import { RawHttpConnection as Connection, jsonTextPost } from './raw-http.js'
import { summarize, type Percentiles } from './stats.js'

export interface LoadConfig {
  readonly port: number
  readonly path: string
  /** File holding a JSON array of request bodies, sent in turn. */
  readonly bodiesFile: string
  readonly mode: 'closed' | 'open'
  readonly connections: number
  /** Requests per second (open loop). */
  readonly rate?: number
  readonly seconds: number
  /** Seconds of unmeasured load first (closed loop). */
  readonly warmupSeconds?: number
}

export interface LoadResult {
  readonly mode: 'closed' | 'open'
  readonly connections: number
  readonly rate?: number
  /** Answers with status 200 per second of the measured window. */
  readonly rps: number
  readonly ok: number
  readonly errors: number
  /** Open loop: requests still unanswered at the end (counted as errors too). */
  readonly unanswered: number
  readonly latency: Percentiles
}

const nowNs = (): bigint => process.hrtime.bigint()

function requests(config: LoadConfig): Buffer[] {
  const bodies = JSON.parse(readFileSync(config.bodiesFile, 'utf8')) as string[]
  return bodies.map((b) => jsonTextPost(config.port, config.path, b))
}

async function closed(config: LoadConfig, reqs: Buffer[]): Promise<LoadResult> {
  const conns = Array.from({ length: config.connections }, () => new Connection(config.port))
  await Promise.all(conns.map((c) => c.ready))
  let next = 0
  let measuring = false
  let stop = false
  const latencies: number[] = []
  let ok = 0
  let errors = 0
  const worker = async (c: Connection): Promise<void> => {
    while (!stop && !c.dead) {
      const req = reqs[next++ % reqs.length]!
      const t0 = nowNs()
      const status = await c.send(req)
      if (!measuring) continue
      if (status === 200) {
        ok++
        latencies.push(Number(nowNs() - t0) / 1000)
      } else errors++
    }
  }
  const running = conns.map(worker)
  await new Promise((r) => setTimeout(r, (config.warmupSeconds ?? 0) * 1000))
  measuring = true
  const t0 = nowNs()
  await new Promise((r) => setTimeout(r, config.seconds * 1000))
  measuring = false
  const elapsed = Number(nowNs() - t0) / 1e9
  stop = true
  await Promise.all(running)
  for (const c of conns) c.close()
  return { mode: 'closed', connections: config.connections, rps: ok / elapsed, ok, errors, unanswered: 0, latency: summarize(Float64Array.from(latencies)) }
}

async function open(config: LoadConfig, reqs: Buffer[]): Promise<LoadResult> {
  const rate = config.rate!
  const total = Math.max(1, Math.round(rate * config.seconds))
  const latencies = new Float64Array(total).fill(Number.NaN)
  const idle: Connection[] = []
  let opened = 0
  const waiting: Array<() => void> = []
  const take = async (): Promise<Connection> => {
    for (;;) {
      const c = idle.pop()
      if (c !== undefined && !c.dead) return c
      if (c === undefined) break
    }
    if (opened < config.connections) {
      opened++
      const c = new Connection(config.port)
      await c.ready
      return c
    }
    await new Promise<void>((r) => waiting.push(r))
    return take()
  }
  const give = (c: Connection): void => {
    if (c.dead) opened--
    else idle.push(c)
    waiting.shift()?.()
  }
  // A few sockets opened before the clock starts, as a client pool would have them.
  for (let i = 0; i < Math.min(4, config.connections); i++) {
    const c = new Connection(config.port)
    await c.ready
    opened++
    idle.push(c)
  }
  let ok = 0
  let errors = 0
  let finished = 0
  const intervalNs = 1e9 / rate
  const start = nowNs() + 5_000_000n
  let sent = 0
  const all: Connection[] = []
  await new Promise<void>((resolve) => {
    const fire = (i: number): void => {
      const scheduled = start + BigInt(Math.round(i * intervalNs))
      void take().then(async (c) => {
        if (!all.includes(c)) all.push(c)
        const status = await c.send(reqs[i % reqs.length]!)
        const done = nowNs()
        give(c)
        if (status === 200) {
          ok++
          latencies[i] = Number(done - scheduled) / 1000
        } else errors++
        if (++finished === total) resolve()
      })
    }
    const tick = (): void => {
      const now = nowNs()
      while (sent < total && start + BigInt(Math.round(sent * intervalNs)) <= now) fire(sent++)
      // A 1 ms timer rather than spinning: a busy generator would take a core from the server.
      if (sent < total) setTimeout(tick, 1)
    }
    tick()
    // Stragglers past a grace period are reported, not waited for.
    setTimeout(() => resolve(), config.seconds * 1000 + 10_000).unref()
  })
  const elapsed = Number(nowNs() - start) / 1e9
  for (const c of all) c.close()
  const answered = latencies.filter((x) => !Number.isNaN(x))
  const unanswered = total - finished
  return { mode: 'open', connections: config.connections, rate, rps: ok / elapsed, ok, errors: errors + unanswered, unanswered, latency: summarize(answered) }
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadConfig
const reqs = requests(config)
const result = config.mode === 'closed' ? await closed(config, reqs) : await open(config, reqs)
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
