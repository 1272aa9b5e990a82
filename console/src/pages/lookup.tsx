import { useEffect, useMemo, useState } from 'preact/hooks'
import { ApiError, getJson, useApi } from '../api'
import { Card, Empty, ErrorBox, Link, Loaded, PageHeader, StatusBadge } from '../components'
import { formatAge, formatMs, formatTime, formatTtl, formatValue } from '../format'
import { href, navigate } from '../router'
import type { ConsoleLookup, ConsoleRegistry } from '../types'

export function LookupPage(props: { readonly query: URLSearchParams }) {
  const registry = useApi<ConsoleRegistry>('registry')
  return <Loaded state={registry}>{(r) => <Lookup registry={r} query={props.query} />}</Loaded>
}

function Lookup(props: { readonly registry: ConsoleRegistry; readonly query: URLSearchParams }) {
  const { registry, query } = props
  const keys = useMemo(() => {
    const out = new Map<string, { dtype: string; entity: string }>()
    for (const v of registry.featureViews) for (const k of v.joinKeys) if (!out.has(k.name)) out.set(k.name, { dtype: k.dtype, entity: registry.entities.find((e) => e.joinKey === k.name)?.name ?? k.name })
    return out
  }, [registry])
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries([...keys.keys()].map((k) => [k, query.get(k) ?? ''])))
  const [result, setResult] = useState<ConsoleLookup | undefined>()
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState(false)
  const queryString = new URLSearchParams(Object.entries(values).filter(([, v]) => v.trim() !== '')).toString()

  const run = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      setResult(await getJson<ConsoleLookup>(`lookup?${queryString}`))
    } catch (err) {
      setResult(undefined)
      setError(err instanceof ApiError ? err : new ApiError(0, 'MORSEL_STORE_UNAVAILABLE', (err as Error).message))
    } finally {
      setBusy(false)
    }
  }

  // A link with join keys in it (#/lookup?zipcode=76104) reads at once.
  useEffect(() => {
    if (queryString !== '') void run()
  }, [])

  return (
    <>
      <PageHeader title="Lookup" kind={registry.project}>
        One entity's online features, as the feature server reads them now: fill in the join keys you know; every view keyed by them is read.
      </PageHeader>
      <Card>
        <form
          class="lookup-form"
          onSubmit={(e) => {
            e.preventDefault()
            navigate(`${href('lookup')}?${queryString}`)
            void run()
          }}
        >
          {[...keys].map(([k, info]) => (
            <label key={k}>
              <span>
                {k} <span class="muted small">({info.entity}, {info.dtype})</span>
              </span>
              <input name={k} value={values[k] ?? ''} onInput={(e) => setValues({ ...values, [k]: e.currentTarget.value })} placeholder={info.dtype.startsWith('Int') ? 'e.g. 76104' : 'value'} />
            </label>
          ))}
          <button type="submit" disabled={busy}>
            {busy ? 'Reading…' : 'Read online features'}
          </button>
        </form>
      </Card>
      {error !== undefined && <ErrorBox error={error} />}
      {result !== undefined && (
        <div data-testid="lookup-result">
          <p class="muted small">
            Read {result.views.length} view{result.views.length === 1 ? '' : 's'} in {formatMs(result.readMs)} for {JSON.stringify(result.keys)}.
          </p>
          {result.views.map((v) => (
            <Card key={v.view} title={v.view} testid={`lookup-${v.view}`}>
              <p class="muted small">
                Keyed by {v.joinKeys.join(', ')}; ttl {formatTtl(v.ttlSeconds)}. <Link to={['views', v.view]}>Definition →</Link>
              </p>
              <table class="table compact">
                <thead>
                  <tr>
                    <th>Feature</th>
                    <th>Type</th>
                    <th>Value</th>
                    <th>Status</th>
                    <th>Event time</th>
                    <th>Age</th>
                  </tr>
                </thead>
                <tbody>
                  {v.values.map((x) => (
                    <tr key={x.name} data-row={x.name}>
                      <td class="name">{x.name}</td>
                      <td>{x.dtype}</td>
                      <td class="value" data-value={x.name}>
                        {formatValue(x.value)}
                      </td>
                      <td>
                        <StatusBadge status={x.status} />
                      </td>
                      <td>{formatTime(x.eventTime)}</td>
                      <td>{formatAge(x.ageSeconds)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          ))}
          {result.skipped.length > 0 && (
            <Card title="Not read">
              <ul class="plain">
                {result.skipped.map((s) => (
                  <li key={s.view}>
                    <b>{s.view}</b>: {s.reason}
                  </li>
                ))}
              </ul>
            </Card>
          )}
          {result.views.length === 0 && <Empty>No view could be read with these keys.</Empty>}
        </div>
      )}
    </>
  )
}
