import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FeatureStoreObserver } from '../feature-store.js'
import type { OnlineStoreHealth } from '../online/online-store.js'
import { FieldStatus } from '../serving/field-status.js'
import type { OnlineResponse } from '../serving/online-response.js'
import type { ReadPlan } from '../serving/read-plan.js'

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const YEAR = 365 * 86_400
/**
 * From a second to 25 years: how stale served values are. Views with ttls of a decade (the
 * credit-scoring ZIP codes) serve values years old; shorter top buckets made every such age read
 * as the top bound.
 */
const AGE_BUCKETS = [1, 10, 60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400, 91 * 86_400, YEAR, 2 * YEAR, 5 * YEAR, 10 * YEAR, 25 * YEAR]
const JOB_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600]
const STATUS_LABELS = ['INVALID', 'PRESENT', 'NULL_VALUE', 'NOT_FOUND', 'OUTSIDE_MAX_AGE'] as const

type HistogramChild = ReturnType<Histogram<string>['labels']>
type CounterChild = ReturnType<Counter<string>['labels']>

interface ViewMetrics {
  readonly statuses: readonly CounterChild[]
  readonly age: HistogramChild
}

/** What the observer needs of one read plan, worked out on its first request. */
interface PlanMetrics {
  /** Per visible feature column: index into `views` (on-demand views count as views; their values have no event time). */
  readonly columnView: Int32Array
  readonly views: readonly ViewMetrics[]
  /** Per view: the first visible column of it, whose event time stands for the view's row. */
  readonly firstColumn: Int32Array
}

export interface ServerMetricsOptions {
  /** Node process metrics (CPU, memory, event-loop lag, GC). Default true. */
  readonly processMetrics?: boolean
}

/**
 * The feature server's Prometheus metrics, in their own registry (never prom-client's global one,
 * so several servers or a host application's metrics do not collide). Children for label
 * combinations are created once and kept, so recording a request is a few map lookups and adds.
 */
export class ServerMetrics {
  readonly registry = new Registry()
  readonly #httpDuration: Histogram<'route' | 'method' | 'status'>
  readonly #storeCall: Histogram<'store' | 'operation' | 'outcome'>
  readonly #readDuration: Histogram
  readonly #valuesServed: Counter<'feature_view' | 'status'>
  readonly #valueAge: Histogram<'feature_view'>
  readonly #rowsWritten: Counter<'feature_view' | 'result' | 'via'>
  readonly #pushRows: Counter<'push_source' | 'to'>
  readonly #materializeRows: Counter<'feature_view'>
  readonly #materializeDuration: Histogram<'feature_view'>
  readonly #materializeRuns: Counter<'outcome'>
  readonly #jobsRunning: Gauge
  readonly #storeUp: Gauge<'store'>
  readonly #storeCheckSeconds: Gauge<'store'>
  readonly #storeStat: Gauge<'store' | 'stat'>
  readonly #storeGauges: ReadonlyMap<string, Gauge<'store'>>
  readonly #registryVersion: Gauge
  readonly #registryErrors: Counter
  readonly #httpChildren = new Map<string, HistogramChild>()
  readonly #storeChildren = new Map<string, HistogramChild>()
  readonly #views = new Map<string, ViewMetrics>()
  readonly #plans = new WeakMap<ReadPlan, PlanMetrics>()
  readonly #readChild: HistogramChild

  constructor(options: ServerMetricsOptions = {}) {
    const registers = [this.registry]
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
    this.#httpDuration = new Histogram({
      name: 'morsel_http_request_duration_seconds',
      help: 'HTTP requests by route, method and status: latency, and (its _count) the request rate.',
      labelNames: ['route', 'method', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.#storeCall = new Histogram({
      name: 'morsel_online_store_call_duration_seconds',
      help: 'Online store calls (one round trip each) by operation and outcome.',
      labelNames: ['store', 'operation', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.#readDuration = new Histogram({
      name: 'morsel_online_read_duration_seconds',
      help: 'Online feature reads in the library: store round trip, decoding and on-demand features.',
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.#readChild = this.#readDuration.labels()
    this.#valuesServed = new Counter({
      name: 'morsel_feature_values_served_total',
      help: 'Feature values served, by feature view and status (PRESENT vs NOT_FOUND is the hit ratio).',
      labelNames: ['feature_view', 'status'],
      registers,
    })
    this.#valueAge = new Histogram({
      name: 'morsel_feature_value_age_seconds',
      help: 'Age (now minus event time) of the values served per feature view and entity row: the freshness of what is served.',
      labelNames: ['feature_view'],
      buckets: AGE_BUCKETS,
      registers,
    })
    this.#rowsWritten = new Counter({
      name: 'morsel_online_rows_written_total',
      help: 'Rows sent to the online store through the server, written or skipped (an equal or newer event time was stored).',
      labelNames: ['feature_view', 'result', 'via'],
      registers,
    })
    this.#pushRows = new Counter({
      name: 'morsel_push_rows_total',
      help: 'Rows pushed, by push source and destination.',
      labelNames: ['push_source', 'to'],
      registers,
    })
    this.#materializeRows = new Counter({
      name: 'morsel_materialization_rows_total',
      help: 'Rows materialized into the online store, by feature view.',
      labelNames: ['feature_view'],
      registers,
    })
    this.#materializeDuration = new Histogram({
      name: 'morsel_materialization_duration_seconds',
      help: 'Duration of materialization runs, by feature view.',
      labelNames: ['feature_view'],
      buckets: JOB_BUCKETS,
      registers,
    })
    this.#materializeRuns = new Counter({
      name: 'morsel_materialization_runs_total',
      help: 'Materialization requests by outcome.',
      labelNames: ['outcome'],
      registers,
    })
    this.#jobsRunning = new Gauge({ name: 'morsel_materialization_jobs_running', help: 'Materializations running now.', registers })
    this.#storeUp = new Gauge({
      name: 'morsel_online_store_up',
      help: '1 when the last background health check of the online store passed (for Redis: connected), else 0.',
      labelNames: ['store'],
      registers,
    })
    this.#storeCheckSeconds = new Gauge({
      name: 'morsel_online_store_health_check_seconds',
      help: 'Round trip of the last online store health check.',
      labelNames: ['store'],
      registers,
    })
    const storeGauge = (name: string, help: string): Gauge<'store'> => new Gauge({ name, help, labelNames: ['store'], registers })
    // The figures every Redis dashboard shows, under their own names; anything else a store reports goes to morsel_online_store_info.
    this.#storeGauges = new Map([
      ['used_memory', storeGauge('morsel_online_store_used_memory_bytes', 'Memory the online store uses (Redis INFO used_memory, summed over masters).')],
      ['instantaneous_ops_per_sec', storeGauge('morsel_online_store_ops_per_second', 'Commands per second the online store processes (Redis INFO instantaneous_ops_per_sec).')],
      ['keyspace_hits', storeGauge('morsel_online_store_keyspace_hits', 'Key lookups that found a key, since the store started (Redis INFO keyspace_hits).')],
      ['keyspace_misses', storeGauge('morsel_online_store_keyspace_misses', 'Key lookups that found nothing, since the store started (Redis INFO keyspace_misses).')],
      ['connected_clients', storeGauge('morsel_online_store_connected_clients', 'Client connections the online store holds (Redis INFO connected_clients).')],
    ])
    this.#storeStat = new Gauge({
      name: 'morsel_online_store_info',
      help: "Other figures the online store reports with its health (Redis: nodes; client-side cache entries, hits, misses, invalidations, evictions).",
      labelNames: ['store', 'stat'],
      registers,
    })
    this.#registryVersion = new Gauge({ name: 'morsel_registry_version', help: 'Version of the registry snapshot being served.', registers })
    this.#registryErrors = new Counter({ name: 'morsel_registry_refresh_errors_total', help: 'Background registry refreshes that failed.', registers })
  }

  /** Hooks for `FeatureStore.addObserver`: read latency, statuses and value ages. */
  readonly observer: FeatureStoreObserver = {
    onOnlineRead: (plan, response, ms) => {
      this.#readChild.observe(ms / 1000)
      this.#recordValues(plan, response)
    },
  }

  recordHttp(route: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${method} ${status}`
    let child = this.#httpChildren.get(key)
    if (child === undefined) {
      child = this.#httpDuration.labels({ route, method, status: String(status) })
      this.#httpChildren.set(key, child)
    }
    child.observe(seconds)
  }

  recordStoreCall(store: string, operation: string, ok: boolean, seconds: number): void {
    const key = `${store} ${operation} ${ok ? 1 : 0}`
    let child = this.#storeChildren.get(key)
    if (child === undefined) {
      child = this.#storeCall.labels({ store, operation, outcome: ok ? 'ok' : 'error' })
      this.#storeChildren.set(key, child)
    }
    child.observe(seconds)
  }

  recordWrite(view: string, via: 'push' | 'write', written: number, skipped: number): void {
    if (written > 0) this.#rowsWritten.labels({ feature_view: view, result: 'written', via }).inc(written)
    if (skipped > 0) this.#rowsWritten.labels({ feature_view: view, result: 'skipped', via }).inc(skipped)
  }

  recordPush(pushSource: string, to: string, rows: number): void {
    this.#pushRows.labels({ push_source: pushSource, to }).inc(rows)
  }

  recordMaterialization(views: ReadonlyArray<{ readonly view: string; readonly rows: number; readonly seconds: number }>, ok: boolean): void {
    for (const v of views) {
      this.#materializeRows.labels({ feature_view: v.view }).inc(v.rows)
      this.#materializeDuration.labels({ feature_view: v.view }).observe(v.seconds)
    }
    this.#materializeRuns.labels({ outcome: ok ? 'ok' : 'error' }).inc()
  }

  setJobsRunning(n: number): void {
    this.#jobsRunning.set(n)
  }

  recordStoreHealth(store: string, health: OnlineStoreHealth): void {
    this.#storeUp.labels({ store }).set(health.ok ? 1 : 0)
    if (health.latencyMs !== undefined) this.#storeCheckSeconds.labels({ store }).set(health.latencyMs / 1000)
    for (const [stat, value] of Object.entries(health.stats ?? {})) {
      if (!Number.isFinite(value)) continue
      const named = this.#storeGauges.get(stat)
      if (named !== undefined) named.labels({ store }).set(value)
      else this.#storeStat.labels({ store, stat }).set(value)
    }
  }

  setRegistryVersion(version: number): void {
    this.#registryVersion.set(version)
  }

  registryRefreshFailed(): void {
    this.#registryErrors.inc()
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  #recordValues(plan: ReadPlan, response: OnlineResponse): void {
    let pm = this.#plans.get(plan)
    if (pm === undefined) {
      pm = this.#planMetrics(plan)
      this.#plans.set(plan, pm)
    }
    const rows = response.rowCount
    const first = response.requestColumns
    const nViews = pm.views.length
    const counts = new Float64Array(nViews * 5)
    for (let j = 0; j < pm.columnView.length; j++) {
      const v = pm.columnView[j]!
      const statuses = response.statuses[first + j]!
      for (let r = 0; r < rows; r++) counts[v * 5 + statuses[r]!]!++
    }
    const nowMicros = Date.now() * 1000
    for (let v = 0; v < nViews; v++) {
      const view = pm.views[v]!
      for (let s = 0; s < 5; s++) {
        const n = counts[v * 5 + s]!
        if (n > 0) view.statuses[s]!.inc(n)
      }
      const c = first + pm.firstColumn[v]!
      const statuses = response.statuses[c]!
      const times = response.eventTimes[c]!
      for (let r = 0; r < rows; r++) {
        const s = statuses[r]
        if ((s === FieldStatus.PRESENT || s === FieldStatus.OUTSIDE_MAX_AGE) && times[r]! > 0) view.age.observe(Math.max(0, nowMicros - times[r]!) / 1e6)
      }
    }
  }

  #planMetrics(plan: ReadPlan): PlanMetrics {
    const viewIndex = new Map<string, number>()
    const views: ViewMetrics[] = []
    const firstColumn: number[] = []
    const columnView = new Int32Array(plan.visibleColumns.length)
    plan.visibleColumns.forEach((c, j) => {
      const col = plan.columns[c]!
      let v = viewIndex.get(col.view)
      if (v === undefined) {
        v = views.length
        viewIndex.set(col.view, v)
        views.push(this.#viewMetrics(col.view))
        firstColumn.push(j)
      }
      columnView[j] = v
    })
    return { columnView, views, firstColumn: Int32Array.from(firstColumn) }
  }

  #viewMetrics(view: string): ViewMetrics {
    let m = this.#views.get(view)
    if (m === undefined) {
      m = {
        statuses: STATUS_LABELS.map((status) => this.#valuesServed.labels({ feature_view: view, status })),
        age: this.#valueAge.labels({ feature_view: view }),
      }
      this.#views.set(view, m)
    }
    return m
  }
}
