import type { Registry } from 'prom-client'
import type { ConsoleTimeSeries, StatusName } from './console-types.js'
import { histogramQuantile } from './histogram-quantile.js'

const STATUSES: readonly StatusName[] = ['INVALID', 'PRESENT', 'NULL_VALUE', 'NOT_FOUND', 'OUTSIDE_MAX_AGE']
/** Routes whose requests are not the application's traffic: the console's own polling, probes, scrapes. */
const NOT_TRAFFIC = new Set(['/metrics', '/health', '/ready'])
const ONLINE_ROUTE = '/get-online-features'

/** A histogram summed over some of its label sets: bucket bounds and cumulative counts. */
interface Buckets {
  readonly bounds: readonly number[]
  readonly counts: Float64Array
}

/** The server's counters at one instant. */
interface Sample {
  readonly t: number
  readonly requests: number
  readonly onlineRequests: number
  readonly online: Buckets
  readonly read: Buckets
  readonly served: Float64Array
  readonly usedMemory: number | null
  readonly opsPerSecond: number | null
}

export interface MetricsSamplerOptions {
  readonly intervalMs: number
  readonly historySeconds: number
  /** Quantiles, rates and ratios are taken over this many samples. Default 5. */
  readonly windowSamples?: number
  readonly storeType?: string
  readonly storeStatsIntervalSeconds?: number
  /** `feature_server.metrics.enabled`. Default true. */
  readonly metricsEnabled?: boolean
}

/**
 * Samples the server's Prometheus registry in the background and keeps a rolling history, so
 * that the console's charts have data the moment the page opens. Rates, latency quantiles and
 * status ratios are computed from the difference between two samples of the counters and
 * histograms (as `rate()` and `histogram_quantile()` would); nothing is added to the request path.
 */
export class MetricsSampler {
  readonly intervalMs: number
  readonly windowSamples: number
  readonly #registry: Registry
  readonly #capacity: number
  readonly #storeType: string | null
  readonly #storeStatsIntervalSeconds: number
  readonly #metricsEnabled: boolean
  readonly #samples: Sample[] = []
  #timer: NodeJS.Timeout | undefined
  #sampling: Promise<void> | undefined

  constructor(registry: Registry, options: MetricsSamplerOptions) {
    this.#registry = registry
    this.intervalMs = options.intervalMs
    this.windowSamples = options.windowSamples ?? 5
    this.#capacity = Math.ceil((options.historySeconds * 1000) / options.intervalMs) + this.windowSamples
    this.#storeType = options.storeType ?? null
    this.#storeStatsIntervalSeconds = options.storeStatsIntervalSeconds ?? 15
    this.#metricsEnabled = options.metricsEnabled ?? true
  }

  start(): void {
    if (this.#timer !== undefined) return
    void this.sample()
    this.#timer = setInterval(() => void this.sample(), this.intervalMs)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Takes one sample now (one at a time: a slow collection is not stacked). */
  async sample(): Promise<void> {
    this.#sampling ??= this.#take().finally(() => {
      this.#sampling = undefined
    })
    return this.#sampling
  }

  /** The history as chart series, oldest first. */
  series(): ConsoleTimeSeries {
    const s = this.#samples
    const w = this.windowSamples
    const n = s.length
    // The first `w` samples only serve as the start of the first windows.
    const from = Math.min(w, Math.max(0, n - 1))
    const out = {
      t: [] as number[],
      requestRate: [] as Array<number | null>,
      onlineRequestRate: [] as Array<number | null>,
      httpP50Ms: [] as Array<number | null>,
      httpP99Ms: [] as Array<number | null>,
      readP50Ms: [] as Array<number | null>,
      readP99Ms: [] as Array<number | null>,
      hitRatio: [] as Array<number | null>,
      missRatio: [] as Array<number | null>,
      staleRatio: [] as Array<number | null>,
      nullRatio: [] as Array<number | null>,
      storeUsedMemoryBytes: [] as Array<number | null>,
      storeOpsPerSecond: [] as Array<number | null>,
    }
    for (let i = from; i < n; i++) {
      const cur = s[i] as Sample
      const prev = s[Math.max(0, i - w)] as Sample
      const seconds = (cur.t - prev.t) / 1000
      out.t.push(cur.t)
      out.requestRate.push(seconds > 0 ? (cur.requests - prev.requests) / seconds : null)
      out.onlineRequestRate.push(seconds > 0 ? (cur.onlineRequests - prev.onlineRequests) / seconds : null)
      const online = delta(cur.online, prev.online)
      out.httpP50Ms.push(ms(histogramQuantile(0.5, cur.online.bounds, online)))
      out.httpP99Ms.push(ms(histogramQuantile(0.99, cur.online.bounds, online)))
      const read = delta(cur.read, prev.read)
      out.readP50Ms.push(ms(histogramQuantile(0.5, cur.read.bounds, read)))
      out.readP99Ms.push(ms(histogramQuantile(0.99, cur.read.bounds, read)))
      const served = cur.served.map((v, k) => v - (prev.served[k] as number))
      const total = served.reduce((a, b) => a + b, 0)
      const ratio = (status: StatusName): number | null => (total > 0 ? (served[STATUSES.indexOf(status)] as number) / total : null)
      out.hitRatio.push(ratio('PRESENT'))
      out.missRatio.push(ratio('NOT_FOUND'))
      out.staleRatio.push(ratio('OUTSIDE_MAX_AGE'))
      out.nullRatio.push(ratio('NULL_VALUE'))
      out.storeUsedMemoryBytes.push(cur.usedMemory)
      out.storeOpsPerSecond.push(cur.opsPerSecond)
    }
    const last = s[n - 1]
    return {
      intervalMs: this.intervalMs,
      windowMs: this.windowSamples * this.intervalMs,
      ...out,
      totals: {
        requests: last?.requests ?? 0,
        onlineRequests: last?.onlineRequests ?? 0,
        reads: last !== undefined ? (last.read.counts[last.read.counts.length - 1] ?? 0) : 0,
        served: Object.fromEntries(STATUSES.map((st, k) => [st, last?.served[k] ?? 0])) as Record<StatusName, number>,
        storeUsedMemoryBytes: last?.usedMemory ?? null,
        storeOpsPerSecond: last?.opsPerSecond ?? null,
        storeType: this.#storeType,
        storeStatsIntervalSeconds: this.#storeStatsIntervalSeconds,
        metricsEnabled: this.#metricsEnabled,
      },
    }
  }

  async #take(): Promise<void> {
    const [http, read, served, memory, ops] = await Promise.all([
      this.#values('morsel_http_request_duration_seconds'),
      this.#values('morsel_online_read_duration_seconds'),
      this.#values('morsel_feature_values_served_total'),
      this.#values('morsel_online_store_used_memory_bytes'),
      this.#values('morsel_online_store_ops_per_second'),
    ])
    let requests = 0
    let onlineRequests = 0
    for (const v of http) {
      if (v.metricName !== 'morsel_http_request_duration_seconds_count') continue
      const route = String(v.labels.route ?? '')
      if (!route.startsWith('/console') && !NOT_TRAFFIC.has(route)) requests += v.value
      if (route === ONLINE_ROUTE && v.labels.method === 'POST') onlineRequests += v.value
    }
    const onlineBuckets = buckets(http, (labels) => labels.route === ONLINE_ROUTE && labels.method === 'POST')
    const readBuckets = buckets(read, () => true)
    const servedCounts = new Float64Array(STATUSES.length)
    for (const v of served) {
      const k = STATUSES.indexOf(v.labels.status as StatusName)
      if (k >= 0) servedCounts[k] = (servedCounts[k] as number) + v.value
    }
    const sample: Sample = {
      t: Date.now(),
      requests,
      onlineRequests,
      online: onlineBuckets,
      read: readBuckets,
      served: servedCounts,
      usedMemory: sum(memory),
      opsPerSecond: sum(ops),
    }
    this.#samples.push(sample)
    if (this.#samples.length > this.#capacity) this.#samples.splice(0, this.#samples.length - this.#capacity)
  }

  async #values(name: string): Promise<ReadonlyArray<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>> {
    const metric = this.#registry.getSingleMetric(name)
    if (metric === undefined) return []
    return (await metric.get()).values
  }
}

type MetricValue = { value: number; labels: Record<string, string | number | undefined>; metricName?: string }

/** Cumulative bucket counts of a histogram, summed over the label sets `keep` accepts. */
function buckets(values: readonly MetricValue[], keep: (labels: MetricValue['labels']) => boolean): Buckets {
  const byBound = new Map<number, number>()
  for (const v of values) {
    if (v.metricName === undefined || !v.metricName.endsWith('_bucket') || !keep(v.labels)) continue
    const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le)
    byBound.set(le, (byBound.get(le) ?? 0) + v.value)
  }
  const bounds = [...byBound.keys()].sort((a, b) => a - b)
  return { bounds, counts: Float64Array.from(bounds, (b) => byBound.get(b) as number) }
}

/** Bucket counts observed between two samples (a histogram that had no observations yet has no buckets). */
function delta(cur: Buckets, prev: Buckets): Float64Array {
  if (prev.bounds.length !== cur.bounds.length) return cur.counts
  return cur.counts.map((c, i) => c - (prev.counts[i] as number))
}

function sum(values: readonly MetricValue[]): number | null {
  if (values.length === 0) return null
  return values.reduce((a, v) => a + v.value, 0)
}

function ms(seconds: number | null): number | null {
  return seconds === null ? null : seconds * 1000
}
