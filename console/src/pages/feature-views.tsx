import { useState } from 'preact/hooks'
import { useApi } from '../api'
import { Badge, Card, Empty, Link, LinkList, Loaded, OrDash, PageHeader, Properties, Stat, StatusBadge, Table, Tags } from '../components'
import { ageOf, formatAge, formatCount, formatDay, formatDuration, formatTime, formatTtl } from '../format'
import { RegistryObjectPage } from '../registry-pages'
import type { ConsoleFeatureView, ConsoleFreshness, ConsoleMaterialization, ConsoleRegistry, ConsoleSource, ConsoleViewFreshness } from '../types'

export function FeatureViewsPage(props: { readonly filter: string }) {
  const registry = useApi<ConsoleRegistry>('registry')
  const freshness = useApi<ConsoleFreshness>('freshness', 5000)
  const [filter, setFilter] = useState(props.filter)
  return (
    <Loaded state={registry}>
      {(r) => {
        const f = filter.trim().toLowerCase()
        const views = r.featureViews.filter((v) => f === '' || viewText(v).includes(f))
        return (
          <>
            <PageHeader title="Feature views" kind={r.project}>
              Features of one or more entities, read from a batch or push source and served online.
            </PageHeader>
            <input class="filter" type="search" placeholder="Filter by name, feature, entity, tag…" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} aria-label="Filter feature views" />
            {views.length === 0 ? (
              <Empty>{r.featureViews.length === 0 ? 'No feature views registered.' : `No feature view matches '${filter}'.`}</Empty>
            ) : (
              <Table
                testid="feature-views"
                rows={views}
                rowName={(v) => v.name}
                columns={[
                  {
                    header: 'Feature view',
                    name: true,
                    cell: (v) => (
                      <>
                        <Link to={['views', v.name]}>{v.name}</Link>
                        {!v.online && (
                          <>
                            {' '}
                            <Badge>offline only</Badge>
                          </>
                        )}
                      </>
                    ),
                  },
                  { header: 'Entities', cell: (v) => v.entities.join(', ') },
                  { header: 'Features', num: true, cell: (v) => v.features.length },
                  { header: 'ttl', cell: (v) => formatTtl(v.ttlSeconds) },
                  { header: 'Source', cell: (v) => <SourceKind source={v.source} /> },
                  {
                    header: 'Materialized until',
                    cell: (v) => {
                      const until = freshness.data?.views.find((x) => x.view === v.name)?.materializedUntil ?? lastEnd(v.materialization)
                      return until === null ? <span class="muted">never</span> : <span title={formatTime(until)}>{formatAge(ageOf(until))}</span>
                    },
                  },
                  { header: 'Tags', cell: (v) => <Tags tags={v.tags} /> },
                ]}
              />
            )}
          </>
        )
      }}
    </Loaded>
  )
}

export function FeatureViewPage(props: { readonly name: string }) {
  const freshness = useApi<ConsoleFreshness>('freshness', 3000)
  return (
    <RegistryObjectPage name={props.name} kind="Feature view" items={(r) => r.featureViews} refreshMs={10_000}>
      {(v) => {
        const fresh = freshness.data?.views.find((x) => x.view === v.name)
        return (
          <>
            <div class="grid cols-2-1">
              <Card title="Definition" testid="view-definition">
                <Properties
                  rows={[
                    ['Entities', <LinkList names={v.entities} to={() => ['entities']} />],
                    ['Join keys', v.joinKeys.map((k) => `${k.name} (${k.dtype})`).join(', ')],
                    ['ttl', formatTtl(v.ttlSeconds)],
                    ['Served online', v.online ? 'yes' : 'no'],
                    ['Owner', v.owner !== '' ? v.owner : '–'],
                    ['Tags', <Tags tags={v.tags} />],
                    ['Registered', formatTime(v.created)],
                    ['Last changed', formatTime(v.updated)],
                    ['Feature services', <LinkList names={v.featureServices} to={(n) => ['services', n]} />],
                    ['On-demand views', <LinkList names={v.onDemandFeatureViews} to={(n) => ['on-demand', n]} />],
                  ]}
                />
              </Card>
              <Card title="Source" testid="view-source">
                <SourceDetails source={v.source} />
              </Card>
            </div>
            <Card title={`Schema (${v.features.length} features)`} testid="view-schema">
              <Table
                compact
                rows={v.features}
                rowName={(f) => f.name}
                columns={[
                  { header: 'Feature', name: true, cell: (f) => f.name },
                  { header: 'Type', cell: (f) => f.dtype },
                  { header: 'Description', cell: (f) => <OrDash text={f.description} /> },
                  { header: 'Tags', cell: (f) => <Tags tags={f.tags} /> },
                ]}
              />
            </Card>
            <Card title="Materialization" testid="view-materialization">
              <Materialization m={v.materialization} ttlSeconds={v.ttlSeconds} />
            </Card>
            <Card title="Freshness of the online values" testid="view-freshness">
              {fresh === undefined ? <div class="loading">Loading…</div> : <Freshness f={fresh} ttlSeconds={v.ttlSeconds} />}
            </Card>
          </>
        )
      }}
    </RegistryObjectPage>
  )
}

function Materialization(props: { readonly m: ConsoleMaterialization; readonly ttlSeconds: number }) {
  const { intervals, lastRun } = props.m
  if (intervals.length === 0) return <Empty>Never materialized: run `morsel materialize-incremental` (or POST /materialize-incremental).</Empty>
  const now = Date.now()
  const first = Date.parse(intervals[0]?.start ?? '')
  const span = Math.max(1, now - first)
  return (
    <>
      <div class="timeline" aria-label="Materialized windows">
        {intervals.map((i) => {
          const s = Date.parse(i.start)
          const e = Date.parse(i.end)
          return <div key={i.start} class="timeline-bar" style={{ left: `${((s - first) / span) * 100}%`, width: `${Math.max(0.5, ((e - s) / span) * 100)}%` }} title={`${formatTime(i.start)} → ${formatTime(i.end)}`} />
        })}
      </div>
      <div class="timeline-axis">
        <span>{formatDay(intervals[0]?.start ?? '')}</span>
        <span>now</span>
      </div>
      <div class="grid cols-2">
        <div>
          <h3>Materialized windows</h3>
          <table class="table compact" data-testid="intervals">
            <thead>
              <tr>
                <th>From</th>
                <th>To</th>
                <th>Length</th>
              </tr>
            </thead>
            <tbody>
              {intervals.map((i) => (
                <tr key={i.start}>
                  <td>{formatTime(i.start)}</td>
                  <td>{formatTime(i.end)}</td>
                  <td>{formatDuration((Date.parse(i.end) - Date.parse(i.start)) / 1000)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div>
          <h3>Last run</h3>
          {lastRun === null ? (
            <Empty>No run recorded.</Empty>
          ) : (
            <Properties
              rows={[
                ['Window', `${formatTime(lastRun.start)} → ${formatTime(lastRun.end)}`],
                ['Rows read', <span data-stat="last-run-rows">{formatCount(lastRun.rows)}</span>],
                ['Rows written', <span data-stat="last-run-written">{formatCount(lastRun.written)}</span>],
                ['Duration', <span data-stat="last-run-duration">{formatDuration(lastRun.durationMs / 1000)}</span>],
                ['Finished', `${formatTime(lastRun.finishedAt)} (${formatAge(ageOf(lastRun.finishedAt))})`],
              ]}
            />
          )}
        </div>
      </div>
    </>
  )
}

function Freshness(props: { readonly f: ConsoleViewFreshness; readonly ttlSeconds: number }) {
  const { f, ttlSeconds } = props
  const total = Object.values(f.served).reduce((a, b) => a + b, 0)
  const stale = ttlSeconds > 0 && f.materializedAgeSeconds !== null && f.materializedAgeSeconds > ttlSeconds
  return (
    <>
      <div class="grid cols-4">
        <Stat
          label="Materialized until"
          value={f.materializedUntil === null ? 'never' : formatAge(f.materializedAgeSeconds)}
          hint={f.materializedUntil !== null ? formatTime(f.materializedUntil) : 'nothing loaded online by materialization'}
          tone={stale ? 'warn' : undefined}
          stat="materialized-until"
        />
        <Stat label="Served age p50" value={f.age.p50Seconds === null ? '–' : formatDuration(f.age.p50Seconds)} hint="now − event time of values served" stat="age-p50" />
        <Stat label="Served age p99" value={f.age.p99Seconds === null ? '–' : formatDuration(f.age.p99Seconds)} hint={`over ${formatCount(f.age.count)} rows served`} stat="age-p99" />
        <Stat label="Values served" value={formatCount(total)} hint="since the server started" stat="served-total" />
      </div>
      <table class="table compact" data-testid="served">
        <thead>
          <tr>
            <th>Status</th>
            <th class="num">Values served</th>
            <th class="num">Share</th>
          </tr>
        </thead>
        <tbody>
          {(['PRESENT', 'NOT_FOUND', 'OUTSIDE_MAX_AGE', 'NULL_VALUE'] as const).map((s) => (
            <tr key={s} data-row={s}>
              <td>
                <StatusBadge status={s} />
              </td>
              <td class="num" data-stat={`served-${s}`}>
                {formatCount(f.served[s])}
              </td>
              <td class="num">{total > 0 ? `${((f.served[s] / total) * 100).toFixed(1)} %` : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">From the server's metrics since it started (morsel_feature_values_served_total, morsel_feature_value_age_seconds); quantiles are estimated from histogram buckets.</p>
    </>
  )
}

export function SourceKind(props: { readonly source: ConsoleSource }) {
  const s = props.source
  return (
    <span>
      <Badge tone={s.kind === 'missing' ? 'bad' : 'muted'}>{s.kind}</Badge> {s.name}
    </span>
  )
}

function SourceDetails(props: { readonly source: ConsoleSource }) {
  const s = props.source
  switch (s.kind) {
    case 'file':
      return (
        <Properties
          rows={[
            ['Name', s.name],
            ['Kind', 'file'],
            ['Path', <code>{s.path}</code>],
            ['Format', s.format],
            ['Timestamp field', <code>{s.timestampField}</code>],
            ['Created timestamp', s.createdTimestampColumn !== '' ? <code>{s.createdTimestampColumn}</code> : '–'],
            ['Field mapping', Object.keys(s.fieldMapping).length > 0 ? Object.entries(s.fieldMapping).map(([a, b]) => `${a} → ${b}`).join(', ') : '–'],
            ['Tags', <Tags tags={s.tags} />],
          ]}
        />
      )
    case 'push':
      return (
        <Properties
          rows={[
            ['Name', s.name],
            ['Kind', 'push (POST /push writes online and to the batch source)'],
            ['Batch source', s.batchSource.name],
            ['Path', <code>{s.batchSource.path}</code>],
            ['Format', s.batchSource.format],
            ['Timestamp field', <code>{s.batchSource.timestampField}</code>],
          ]}
        />
      )
    case 'request':
      return <Properties rows={[['Name', s.name], ['Kind', 'request data'], ['Fields', s.schema.map((f) => `${f.name} (${f.dtype})`).join(', ')]]} />
    case 'missing':
      return <Empty>Source '{s.name}' is not registered.</Empty>
  }
}

function viewText(v: ConsoleFeatureView): string {
  return [v.name, v.description, v.owner, ...v.entities, ...v.features.map((f) => f.name), ...Object.entries(v.tags).flat(), v.source.name].join(' ').toLowerCase()
}

function lastEnd(m: ConsoleMaterialization): string | null {
  return m.intervals.length > 0 ? (m.intervals[m.intervals.length - 1]?.end ?? null) : null
}
