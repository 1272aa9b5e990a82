import { useApi } from '../api'
import { Empty, Link, Loaded, PageHeader, Tags } from '../components'
import type { ConsoleRegistry } from '../types'

export function EntitiesPage() {
  const registry = useApi<ConsoleRegistry>('registry')
  return (
    <Loaded state={registry}>
      {(r) => (
        <>
          <PageHeader title="Entities" kind={r.project}>
            What features are keyed by: each entity's join key is the column a request names it with.
          </PageHeader>
          {r.entities.length === 0 ? (
            <Empty>No entities registered.</Empty>
          ) : (
            <table class="table" data-testid="entities">
              <thead>
                <tr>
                  <th>Entity</th>
                  <th>Join key</th>
                  <th>Type</th>
                  <th>Description</th>
                  <th>Feature views</th>
                  <th>Tags</th>
                </tr>
              </thead>
              <tbody>
                {r.entities.map((e) => (
                  <tr key={e.name} data-row={e.name}>
                    <td class="name">{e.name}</td>
                    <td>
                      <code>{e.joinKey}</code>
                    </td>
                    <td>{e.dtype}</td>
                    <td>{e.description !== '' ? e.description : <span class="muted">–</span>}</td>
                    <td>
                      {e.featureViews.length === 0 ? (
                        <span class="muted">none</span>
                      ) : (
                        e.featureViews.map((v, i) => (
                          <span key={v}>
                            {i > 0 && ', '}
                            <Link to={['views', v]}>{v}</Link>
                          </span>
                        ))
                      )}
                    </td>
                    <td>
                      <Tags tags={e.tags} />
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
