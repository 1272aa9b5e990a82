import { useApi } from '../api'
import { Card, Empty, Link, Loaded, PageHeader, Table } from '../components'
import type { ConsoleRegistry } from '../types'

interface Hit {
  readonly kind: string
  readonly to: string[]
  readonly name: string
  /** Where the query matched, e.g. "feature city". */
  readonly where: readonly string[]
}

export function SearchPage(props: { readonly q: string }) {
  const registry = useApi<ConsoleRegistry>('registry')
  return (
    <Loaded state={registry}>
      {(r) => {
        const hits = search(r, props.q)
        return (
          <>
            <PageHeader title={props.q === '' ? 'Search' : `Search: ${props.q}`} kind={r.project}>
              Names, descriptions, owners, tags, features and join keys of every registered object.
            </PageHeader>
            {props.q.trim() === '' ? (
              <Empty>Type in the search field above.</Empty>
            ) : hits.length === 0 ? (
              <Empty>Nothing matches '{props.q}'.</Empty>
            ) : (
              <Card title={`${hits.length} result${hits.length === 1 ? '' : 's'}`}>
                <Table
                  testid="search-results"
                  rows={hits}
                  rowName={(h) => h.name}
                  rowKey={(h) => `${h.kind}:${h.name}`}
                  columns={[
                    { header: 'Kind', cell: (h) => h.kind },
                    { header: 'Name', name: true, cell: (h) => <Link to={h.to}>{h.name}</Link> },
                    { header: 'Matched', cell: (h) => <span class="muted">{h.where.join('; ')}</span> },
                  ]}
                />
              </Card>
            )}
          </>
        )
      }}
    </Loaded>
  )
}

/** Case-insensitive substring search over every object's texts; each hit says what matched. */
export function search(r: ConsoleRegistry, query: string): Hit[] {
  const q = query.trim().toLowerCase()
  if (q === '') return []
  const hits: Hit[] = []
  const check = (kind: string, to: string[], name: string, fields: ReadonlyArray<readonly [string, string]>): void => {
    const where = fields.filter(([, text]) => text.toLowerCase().includes(q)).map(([label, text]) => (label === 'name' ? 'name' : `${label} ${text}`))
    if (where.length > 0) hits.push({ kind, to, name, where })
  }
  const tagFields = (tags: Readonly<Record<string, string>>): Array<[string, string]> => Object.entries(tags).map(([k, v]) => ['tag', v === '' ? k : `${k}=${v}`])
  for (const e of r.entities) check('entity', ['entities'], e.name, [['name', e.name], ['join key', e.joinKey], ['description', e.description], ['owner', e.owner], ...tagFields(e.tags)])
  for (const v of r.featureViews) {
    check('feature view', ['views', v.name], v.name, [
      ['name', v.name],
      ['description', v.description],
      ['owner', v.owner],
      ['source', v.source.name],
      ...v.features.map((f): [string, string] => ['feature', f.name]),
      ...v.features.filter((f) => f.description !== '').map((f): [string, string] => ['feature description', f.description]),
      ...tagFields(v.tags),
    ])
  }
  for (const o of r.onDemandFeatureViews) {
    check('on-demand view', ['on-demand', o.name], o.name, [['name', o.name], ['description', o.description], ['owner', o.owner], ...o.features.map((f): [string, string] => ['feature', f.name]), ...tagFields(o.tags)])
  }
  for (const s of r.featureServices) {
    check('feature service', ['services', s.name], s.name, [['name', s.name], ['description', s.description], ['owner', s.owner], ...s.projections.map((p): [string, string] => ['view', p.view]), ...tagFields(s.tags)])
  }
  return hits
}
