import { LinkList, OrDash, Table, Tags } from '../components'
import { RegistryListPage } from '../registry-pages'

export function EntitiesPage() {
  return (
    <RegistryListPage title="Entities" intro="What features are keyed by: each entity's join key is the column a request names it with." items={(r) => r.entities} none="No entities registered.">
      {(entities) => (
        <Table
          testid="entities"
          rows={entities}
          rowName={(e) => e.name}
          columns={[
            { header: 'Entity', name: true, cell: (e) => e.name },
            { header: 'Join key', cell: (e) => <code>{e.joinKey}</code> },
            { header: 'Type', cell: (e) => e.dtype },
            { header: 'Description', cell: (e) => <OrDash text={e.description} /> },
            { header: 'Feature views', cell: (e) => <LinkList names={e.featureViews} to={(v) => ['views', v]} none={<span class="muted">none</span>} /> },
            { header: 'Tags', cell: (e) => <Tags tags={e.tags} /> },
          ]}
        />
      )}
    </RegistryListPage>
  )
}
