import { useApi } from '../api'
import { Badge, Card, Empty, Link, Loaded, PageHeader, Properties, Tags } from '../components'
import { formatTime } from '../format'
import type { ConsoleRegistry } from '../types'

export function FeatureServicesPage() {
  const registry = useApi<ConsoleRegistry>('registry')
  return (
    <Loaded state={registry}>
      {(r) => (
        <>
          <PageHeader title="Feature services" kind={r.project}>
            Named feature sets a model reads, for training and serving alike.
          </PageHeader>
          {r.featureServices.length === 0 ? (
            <Empty>No feature services registered.</Empty>
          ) : (
            <table class="table" data-testid="feature-services">
              <thead>
                <tr>
                  <th>Feature service</th>
                  <th>Views</th>
                  <th class="num">Features</th>
                  <th>Description</th>
                  <th>Tags</th>
                </tr>
              </thead>
              <tbody>
                {r.featureServices.map((s) => (
                  <tr key={s.name} data-row={s.name}>
                    <td class="name">
                      <Link to={['services', s.name]}>{s.name}</Link>
                    </td>
                    <td>{s.projections.map((p) => p.view).join(', ')}</td>
                    <td class="num">{s.projections.reduce((n, p) => n + p.features.length, 0)}</td>
                    <td>{s.description !== '' ? s.description : <span class="muted">–</span>}</td>
                    <td>
                      <Tags tags={s.tags} />
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

export function FeatureServicePage(props: { readonly name: string }) {
  const registry = useApi<ConsoleRegistry>('registry')
  return (
    <Loaded state={registry}>
      {(r) => {
        const s = r.featureServices.find((x) => x.name === props.name)
        if (s === undefined) return <Empty>No feature service '{props.name}' in project {r.project}.</Empty>
        return (
          <>
            <PageHeader title={s.name} kind="Feature service">
              {s.description !== '' ? s.description : 'No description.'}
            </PageHeader>
            <Card title="Definition">
              <Properties
                rows={[
                  ['Owner', s.owner !== '' ? s.owner : '–'],
                  ['Tags', <Tags tags={s.tags} />],
                  ['Registered', formatTime(s.created)],
                  ['Last changed', formatTime(s.updated)],
                  ['Read it', <code>{`POST /get-online-features {"feature_service": "${s.name}", "entities": {…}}`}</code>],
                ]}
              />
            </Card>
            <Card title={`Features (${s.projections.reduce((n, p) => n + p.features.length, 0)})`} testid="service-features">
              <table class="table compact">
                <thead>
                  <tr>
                    <th>View</th>
                    <th>Kind</th>
                    <th>Features</th>
                  </tr>
                </thead>
                <tbody>
                  {s.projections.map((p) => (
                    <tr key={p.view} data-row={p.view}>
                      <td class="name">
                        {p.kind === 'featureView' ? <Link to={['views', p.view]}>{p.view}</Link> : p.kind === 'onDemand' ? <Link to={['on-demand', p.view]}>{p.view}</Link> : p.view}
                      </td>
                      <td>{p.kind === 'featureView' ? 'feature view' : p.kind === 'onDemand' ? 'on-demand' : <Badge tone="bad">not registered</Badge>}</td>
                      <td>{p.features.join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          </>
        )
      }}
    </Loaded>
  )
}
