import { useApi } from '../api'
import { Card, Empty, Loaded, PageHeader, Stat } from '../components'
import { formatBytes, formatCount, formatMs, formatRate, formatRatio } from '../format'
import { TimeChart } from '../time-chart'
import type { ConsoleTimeSeries } from '../types'
import { last } from './overview'

const COLORS = { blue: '#2563eb', teal: '#0d9488', amber: '#d97706', red: '#dc2626', violet: '#7c3aed', slate: '#64748b', green: '#16a34a' }

export function MetricsPage() {
  const series = useApi<ConsoleTimeSeries>('timeseries', 1000)
  return (
    <Loaded state={series}>
      {(s) => {
        const served = s.totals.served
        const storeFigures = s.totals.storeUsedMemoryBytes !== null || s.storeUsedMemoryBytes.some((v) => v !== null)
        return (
          <>
            <PageHeader title="Live metrics" kind="Feature server">
              Sampled from the server's Prometheus metrics every {s.intervalMs / 1000} s; rates, quantiles and ratios over the last {s.windowMs / 1000} s. The history is
              kept by the server, so it is here as soon as the page opens.
            </PageHeader>
            {!s.totals.metricsEnabled && (
              <div class="error-box" role="alert">
                Metrics are off (<code>feature_server.metrics.enabled: false</code>): online reads and the statuses of the values served are not recorded, so those figures and charts stay
                empty.
              </div>
            )}
            <div class="grid cols-4">
              <Stat label="Requests" value={formatCount(s.totals.requests)} hint={`now ${formatRate(last(s.requestRate))}; every endpoint but the console's, /metrics, /health, /ready`} stat="requests-total" raw={s.totals.requests} />
              <Stat label="POST /get-online-features" value={formatCount(s.totals.onlineRequests)} hint={`now ${formatRate(last(s.onlineRequestRate))}, p99 ${formatMs(last(s.httpP99Ms))}`} stat="online-requests-total" raw={s.totals.onlineRequests} />
              <Stat label="Online reads" value={formatCount(s.totals.reads)} hint={`in the library (HTTP and apps); p99 ${formatMs(last(s.readP99Ms))}`} stat="reads-total" raw={s.totals.reads} />
              <Stat
                label={`Online store (${s.totals.storeType ?? '?'})`}
                value={formatBytes(s.totals.storeUsedMemoryBytes)}
                hint={s.totals.storeOpsPerSecond !== null ? `${formatCount(s.totals.storeOpsPerSecond)} ops/s (INFO every ${s.totals.storeStatsIntervalSeconds} s)` : 'reports no memory or ops figures'}
                stat="store-memory"
                raw={s.totals.storeUsedMemoryBytes}
              />
            </div>
            <div class="grid cols-4">
              <Stat label="Hits (PRESENT)" value={formatCount(served.PRESENT)} hint={`now ${formatRatio(last(s.hitRatio))}`} stat="served-PRESENT" tone="ok" raw={served.PRESENT} />
              <Stat label="Misses (NOT_FOUND)" value={formatCount(served.NOT_FOUND)} hint={`now ${formatRatio(last(s.missRatio))}`} stat="served-NOT_FOUND" tone="bad" raw={served.NOT_FOUND} />
              <Stat label="Stale (OUTSIDE_MAX_AGE)" value={formatCount(served.OUTSIDE_MAX_AGE)} hint={`now ${formatRatio(last(s.staleRatio))}`} stat="served-OUTSIDE_MAX_AGE" tone="warn" raw={served.OUTSIDE_MAX_AGE} />
              <Stat label="Nulls (NULL_VALUE)" value={formatCount(served.NULL_VALUE)} hint={`now ${formatRatio(last(s.nullRatio))}`} stat="served-NULL_VALUE" raw={served.NULL_VALUE} />
            </div>
            <div class="grid cols-2">
              <Card title="Request rate">
                <TimeChart
                  testid="chart-requests"
                  t={s.t}
                  format={(v) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)}/s`}
                  series={[
                    { label: 'all endpoints', color: COLORS.blue, values: s.requestRate },
                    { label: '/get-online-features', color: COLORS.teal, values: s.onlineRequestRate },
                  ]}
                />
              </Card>
              <Card title="Latency">
                <TimeChart
                  testid="chart-latency"
                  t={s.t}
                  format={(v) => formatMs(v)}
                  series={[
                    { label: 'HTTP p50', color: COLORS.blue, values: s.httpP50Ms },
                    { label: 'HTTP p99', color: COLORS.red, values: s.httpP99Ms },
                    { label: 'read p50', color: COLORS.teal, values: s.readP50Ms, dash: [4, 4] },
                    { label: 'read p99', color: COLORS.amber, values: s.readP99Ms, dash: [4, 4] },
                  ]}
                />
              </Card>
              <Card title="Values served: hit / miss / stale">
                <TimeChart
                  testid="chart-statuses"
                  t={s.t}
                  yRange={[0, 1]}
                  format={(v) => `${Math.round(v * 100)} %`}
                  series={[
                    { label: 'hit', color: COLORS.green, values: s.hitRatio },
                    { label: 'miss', color: COLORS.red, values: s.missRatio },
                    { label: 'stale', color: COLORS.amber, values: s.staleRatio },
                    { label: 'null', color: COLORS.slate, values: s.nullRatio },
                  ]}
                />
              </Card>
              <Card title="Online store">
                {storeFigures ? (
                  <>
                    <TimeChart testid="chart-store-memory" t={s.t} height={120} format={(v) => formatBytes(v)} series={[{ label: 'used memory', color: COLORS.violet, values: s.storeUsedMemoryBytes }]} />
                    <TimeChart testid="chart-store-ops" t={s.t} height={120} format={(v) => `${formatCount(v)}/s`} series={[{ label: 'ops/s', color: COLORS.blue, values: s.storeOpsPerSecond }]} />
                  </>
                ) : (
                  <Empty>The online store ({s.totals.storeType ?? 'unknown'}) reports no memory or ops figures; Redis does (INFO).</Empty>
                )}
              </Card>
            </div>
          </>
        )
      }}
    </Loaded>
  )
}
