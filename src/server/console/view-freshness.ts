import type { Registry } from 'prom-client'
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js'
import type { ConsoleFreshness, ConsoleViewFreshness, StatusName } from './console-types.js'
import { histogramQuantile } from './histogram-quantile.js'

const STATUSES: readonly StatusName[] = ['INVALID', 'PRESENT', 'NULL_VALUE', 'NOT_FOUND', 'OUTSIDE_MAX_AGE']

type MetricValue = { value: number; labels: Record<string, string | number | undefined>; metricName?: string }

/**
 * How fresh each view's online values are: what the server has served of it since it started
 * (statuses, and the age of the values, from its metrics) and how far its materialization reaches
 * (from the registry).
 */
export async function viewFreshness(registry: Registry, snapshot: RegistrySnapshot, now = Date.now()): Promise<ConsoleFreshness> {
  const [served, ages] = await Promise.all([values(registry, 'morsel_feature_values_served_total'), values(registry, 'morsel_feature_value_age_seconds')])
  const servedBy = new Map<string, Record<StatusName, number>>()
  for (const v of served) {
    const view = String(v.labels.feature_view)
    const status = v.labels.status as StatusName
    if (!STATUSES.includes(status)) continue
    const counts = servedBy.get(view) ?? zeroCounts()
    counts[status] += v.value
    servedBy.set(view, counts)
  }
  const ageBy = new Map<string, { bounds: number[]; counts: number[]; sum: number; count: number }>()
  for (const v of ages) {
    const view = String(v.labels.feature_view)
    const a = ageBy.get(view) ?? { bounds: [], counts: [], sum: 0, count: 0 }
    if (v.metricName?.endsWith('_bucket') === true) {
      a.bounds.push(v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le))
      a.counts.push(v.value)
    } else if (v.metricName?.endsWith('_sum') === true) a.sum = v.value
    else if (v.metricName?.endsWith('_count') === true) a.count = v.value
    ageBy.set(view, a)
  }
  const one = (view: string, kind: ConsoleViewFreshness['kind']): ConsoleViewFreshness => {
    const a = ageBy.get(view)
    let materializedUntil: string | null = null
    if (kind === 'featureView') {
      const intervals = snapshot.materialization(view).intervals
      materializedUntil = intervals.length > 0 ? (intervals[intervals.length - 1]?.end ?? null) : null
    }
    return {
      view,
      kind,
      served: servedBy.get(view) ?? zeroCounts(),
      age: {
        count: a?.count ?? 0,
        p50Seconds: a !== undefined ? histogramQuantile(0.5, a.bounds, a.counts) : null,
        p99Seconds: a !== undefined ? histogramQuantile(0.99, a.bounds, a.counts) : null,
        meanSeconds: a !== undefined && a.count > 0 ? a.sum / a.count : null,
      },
      materializedUntil,
      materializedAgeSeconds: materializedUntil !== null ? Math.max(0, (now - Date.parse(materializedUntil)) / 1000) : null,
    }
  }
  return {
    generatedAt: new Date(now).toISOString(),
    views: [...[...snapshot.featureViews.keys()].map((v) => one(v, 'featureView')), ...[...snapshot.onDemandFeatureViews.keys()].map((v) => one(v, 'onDemand'))],
  }
}

function zeroCounts(): Record<StatusName, number> {
  return { INVALID: 0, PRESENT: 0, NULL_VALUE: 0, NOT_FOUND: 0, OUTSIDE_MAX_AGE: 0 }
}

async function values(registry: Registry, name: string): Promise<readonly MetricValue[]> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return []
  return (await metric.get()).values
}
