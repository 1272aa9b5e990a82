import { useApi } from '../api'
import { Badge, Card, Loaded, PageHeader, Stat } from '../components'
import { formatCount, formatMs, formatRate, formatRatio, formatTime } from '../format'
import { href } from '../router'
import type { ConsoleOverview, ConsoleTimeSeries } from '../types'

export function OverviewPage() {
  const overview = useApi<ConsoleOverview>('overview', 5000)
  const series = useApi<ConsoleTimeSeries>('timeseries', 2000)
  return (
    <Loaded state={overview}>
      {(o) => (
        <>
          <PageHeader title={o.project} kind="Project">
            {o.description !== '' ? o.description : 'No description.'}
          </PageHeader>
          <div class="grid cols-4">
            <Stat label="Registry version" value={o.registryVersion} hint={o.registryUpdated !== null ? `applied ${formatTime(o.registryUpdated)}` : 'never applied'} stat="registry-version" />
            <Stat
              label="Online store"
              value={
                <span>
                  {o.onlineStore.type}{' '}
                  {o.onlineStore.ok === null ? <Badge>checking</Badge> : o.onlineStore.ok ? <Badge tone="ok">up</Badge> : <Badge tone="bad">down</Badge>}
                </span>
              }
              hint={o.onlineStore.ok === false ? (o.onlineStore.detail ?? '') : o.onlineStore.checkedLatencyMs !== null ? `health check ${formatMs(o.onlineStore.checkedLatencyMs)}` : ''}
              stat="online-store"
            />
            <Stat label="Offline store" value={o.offlineStore} stat="offline-store" />
            <Stat label="Access control" value={o.auth === 'none' ? 'off' : o.auth} hint={o.auth === 'none' ? 'loopback only' : `as ${o.principal}`} stat="auth" />
          </div>
          <Card title="Registry">
            <div class="grid cols-5 counts">
              <a class="count-link" href={href('entities')}>
                <span class="count" data-stat="count-entities">{o.counts.entities}</span> entities
              </a>
              <a class="count-link" href={href('views')}>
                <span class="count" data-stat="count-feature-views">{o.counts.featureViews}</span> feature views
              </a>
              <a class="count-link" href={href('on-demand')}>
                <span class="count" data-stat="count-on-demand">{o.counts.onDemandFeatureViews}</span> on-demand views
              </a>
              <a class="count-link" href={href('services')}>
                <span class="count" data-stat="count-feature-services">{o.counts.featureServices}</span> feature services
              </a>
              <div class="count-link">
                <span class="count" data-stat="count-data-sources">{o.counts.dataSources}</span> data sources
              </div>
            </div>
          </Card>
          <Card title="Serving now">
            {series.data === undefined ? (
              <div class="loading">Loading…</div>
            ) : (
              <div class="grid cols-4">
                <Stat label="Requests" value={formatRate(last(series.data.requestRate))} hint={`${formatCount(series.data.totals.requests)} since the server started`} />
                <Stat label="Online read p99" value={formatMs(last(series.data.readP99Ms))} hint={`p50 ${formatMs(last(series.data.readP50Ms))}`} />
                <Stat label="Hit ratio" value={formatRatio(last(series.data.hitRatio))} hint={`over the last ${series.data.windowMs / 1000} s`} />
                <Stat label="Values served" value={formatCount(Object.values(series.data.totals.served).reduce((a, b) => a + b, 0))} hint="since the server started" />
              </div>
            )}
            <p class="muted small">
              Server up since {formatTime(o.serverStartedAt)}. <a href={href('metrics')}>Live metrics →</a>
            </p>
          </Card>
        </>
      )}
    </Loaded>
  )
}

export function last(values: ReadonlyArray<number | null>): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i]
    if (v !== null && v !== undefined) return v
  }
  return null
}
