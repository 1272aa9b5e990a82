import { Card, LinkList, Properties, Table, Tags } from '../components'
import { formatTime } from '../format'
import { RegistryListPage, RegistryObjectPage } from '../registry-pages'

export function OnDemandViewsPage() {
  return (
    <RegistryListPage
      title="On-demand feature views"
      intro="Features computed at request time from request data and other views' features."
      items={(r) => r.onDemandFeatureViews}
      none="No on-demand feature views registered."
    >
      {(views) => (
        <Table
          testid="on-demand-views"
          rows={views}
          rowName={(o) => o.name}
          columns={[
            { header: 'On-demand view', name: true, cell: (o) => <LinkList names={[o.name]} to={(n) => ['on-demand', n]} /> },
            { header: 'Features', cell: (o) => o.features.map((f) => f.name).join(', ') },
            { header: 'Sources', cell: (o) => o.sources.map((x) => x.name).join(', ') },
            { header: 'Feature services', cell: (o) => o.featureServices.join(', ') || <span class="muted">–</span> },
            { header: 'Tags', cell: (o) => <Tags tags={o.tags} /> },
          ]}
        />
      )}
    </RegistryListPage>
  )
}

export function OnDemandViewPage(props: { readonly name: string }) {
  return (
    <RegistryObjectPage name={props.name} kind="On-demand feature view" items={(r) => r.onDemandFeatureViews}>
      {(o) => (
        <>
          <div class="grid cols-2">
            <Card title="Sources" testid="odfv-sources">
              <Table
                compact
                rows={o.sources}
                rowName={(x) => x.name}
                columns={[
                  { header: 'Source', name: true, cell: (x) => (x.kind === 'featureView' ? <LinkList names={[x.name]} to={(n) => ['views', n]} /> : x.name) },
                  { header: 'Kind', cell: (x) => (x.kind === 'featureView' ? 'feature view' : 'request data') },
                  { header: 'Inputs', cell: (x) => (x.kind === 'featureView' ? x.features.join(', ') : x.schema.map((f) => `${f.name} (${f.dtype})`).join(', ')) },
                ]}
              />
            </Card>
            <Card title="Definition">
              <Properties
                rows={[
                  ['Features', o.features.map((f) => `${f.name} (${f.dtype})`).join(', ')],
                  ['Feature services', <LinkList names={o.featureServices} to={(n) => ['services', n]} />],
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
      )}
    </RegistryObjectPage>
  )
}
