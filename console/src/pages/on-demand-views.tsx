import { useApi } from '../api'
import { Card, Empty, Link, Loaded, PageHeader, Properties, Tags } from '../components'
import { formatTime } from '../format'
import type { ConsoleRegistry } from '../types'

export function OnDemandViewsPage() {
  const registry = useApi<ConsoleRegistry>('registry')
  return (
    <Loaded state={registry}>
      {(r) => (
        <>
          <PageHeader title="On-demand feature views" kind={r.project}>
            Features computed at request time from request data and other views' features.
          </PageHeader>
          {r.onDemandFeatureViews.length === 0 ? (
            <Empty>No on-demand feature views registered.</Empty>
          ) : (
            <table class="table" data-testid="on-demand-views">
              <thead>
                <tr>
                  <th>On-demand view</th>
                  <th>Features</th>
                  <th>Sources</th>
                  <th>Feature services</th>
                  <th>Tags</th>
                </tr>
              </thead>
              <tbody>
                {r.onDemandFeatureViews.map((o) => (
                  <tr key={o.name} data-row={o.name}>
                    <td class="name">
                      <Link to={['on-demand', o.name]}>{o.name}</Link>
                    </td>
                    <td>{o.features.map((f) => f.name).join(', ')}</td>
                    <td>{o.sources.map((s) => s.name).join(', ')}</td>
                    <td>{o.featureServices.join(', ') || <span class="muted">–</span>}</td>
                    <td>
                      <Tags tags={o.tags} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Loaded>
  )
}

export function OnDemandViewPage(props: { readonly name: string }) {
  const registry = useApi<ConsoleRegistry>('registry')
  return (
    <Loaded state={registry}>
      {(r) => {
        const o = r.onDemandFeatureViews.find((x) => x.name === props.name)
        if (o === undefined) return <Empty>No on-demand feature view '{props.name}' in project {r.project}.</Empty>
        return (
          <>
            <PageHeader title={o.name} kind="On-demand feature view">
              {o.description !== '' ? o.description : 'No description.'}
            </PageHeader>
            <div class="grid cols-2">
              <Card title="Sources" testid="odfv-sources">
                <table class="table compact">
                  <thead>
                    <tr>
                      <th>Source</th>
                      <th>Kind</th>
                      <th>Inputs</th>
                    </tr>
                  </thead>
                  <tbody>
                    {o.sources.map((s) => (
                      <tr key={s.name} data-row={s.name}>
                        <td class="name">{s.kind === 'featureView' ? <Link to={['views', s.name]}>{s.name}</Link> : s.name}</td>
                        <td>{s.kind === 'featureView' ? 'feature view' : 'request data'}</td>
                        <td>{s.kind === 'featureView' ? s.features.join(', ') : s.schema.map((f) => `${f.name} (${f.dtype})`).join(', ')}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </Card>
              <Card title="Definition">
                <Properties
                  rows={[
                    ['Features', o.features.map((f) => `${f.name} (${f.dtype})`).join(', ')],
                    ['Feature services', o.featureServices.length > 0 ? o.featureServices.map((s, i) => <span key={s}>{i > 0 && ', '}<Link to={['services', s]}>{s}</Link></span>) : '–'],
                    ['Owner', o.owner !== '' ? o.owner : '–'],
                    ['Tags', <Tags tags={o.tags} />],
                    ['Registered', formatTime(o.created)],
                    ['Last changed', formatTime(o.updated)],
                    ['Code hash', <code class="small">{o.udfHash.slice(0, 16)}…</code>],
                  ]}
                />
              </Card>
            </div>
            <Card title="Function" testid="odfv-code">
              <pre class="code">
                <code>{o.udfSource}</code>
              </pre>
            </Card>
          </>
        )
      }}
    </Loaded>
  )
}
