import { Badge, Card, Link, LinkList, OrDash, Properties, Table, Tags } from '../components'
import { formatTime } from '../format'
import { RegistryListPage, RegistryObjectPage } from '../registry-pages'
import type { ConsoleFeatureService } from '../types'

const featureCount = (s: ConsoleFeatureService): number => s.projections.reduce((n, p) => n + p.features.length, 0)

export function FeatureServicesPage() {
  return (
    <RegistryListPage title="Feature services" intro="Named feature sets a model reads, for training and serving alike." items={(r) => r.featureServices} none="No feature services registered.">
      {(services) => (
        <Table
          testid="feature-services"
          rows={services}
          rowName={(s) => s.name}
          columns={[
            { header: 'Feature service', name: true, cell: (s) => <Link to={['services', s.name]}>{s.name}</Link> },
            { header: 'Views', cell: (s) => s.projections.map((p) => p.view).join(', ') },
            { header: 'Features', num: true, cell: featureCount },
            { header: 'Description', cell: (s) => <OrDash text={s.description} /> },
            { header: 'Tags', cell: (s) => <Tags tags={s.tags} /> },
          ]}
        />
      )}
    </RegistryListPage>
  )
}

export function FeatureServicePage(props: { readonly name: string }) {
  return (
    <RegistryObjectPage name={props.name} kind="Feature service" items={(r) => r.featureServices}>
      {(s) => (
        <>
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
          <Card title={`Features (${featureCount(s)})`} testid="service-features">
            <Table
              compact
              rows={s.projections}
              rowName={(p) => p.view}
              columns={[
                {
                  header: 'View',
                  name: true,
                  cell: (p) => (p.kind === 'featureView' ? <LinkList names={[p.view]} to={(v) => ['views', v]} /> : p.kind === 'onDemand' ? <LinkList names={[p.view]} to={(v) => ['on-demand', v]} /> : p.view),
                },
                { header: 'Kind', cell: (p) => (p.kind === 'featureView' ? 'feature view' : p.kind === 'onDemand' ? 'on-demand' : <Badge tone="bad">not registered</Badge>) },
                { header: 'Features', cell: (p) => p.features.join(', ') },
              ]}
            />
          </Card>
        </>
      )}
    </RegistryObjectPage>
  )
}
