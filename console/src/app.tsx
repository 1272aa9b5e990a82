import { useEffect, useState } from 'preact/hooks'
import { getToken, setToken, useApi } from './api'
import type { ConsoleOverview } from './types'
import { EntitiesPage } from './pages/entities'
import { FeatureServicePage, FeatureServicesPage } from './pages/feature-services'
import { FeatureViewPage, FeatureViewsPage } from './pages/feature-views'
import { LookupPage } from './pages/lookup'
import { MetricsPage } from './pages/metrics'
import { OnDemandViewPage, OnDemandViewsPage } from './pages/on-demand-views'
import { OverviewPage } from './pages/overview'
import { SearchPage } from './pages/search'
import { href, navigate, useRoute, type Route } from './router'

const NAV: ReadonlyArray<{ readonly page: string; readonly label: string }> = [
  { page: '', label: 'Overview' },
  { page: 'entities', label: 'Entities' },
  { page: 'views', label: 'Feature views' },
  { page: 'on-demand', label: 'On-demand views' },
  { page: 'services', label: 'Feature services' },
  { page: 'metrics', label: 'Live metrics' },
  { page: 'lookup', label: 'Lookup' },
]

export function App() {
  const route = useRoute()
  const overview = useApi<ConsoleOverview>('overview', 15_000)
  const page = route.segments[0] ?? ''
  useEffect(() => {
    const project = overview.data?.project
    document.title = project !== undefined ? `${titleOf(route)} · ${project} · Morsel console` : 'Morsel console'
  }, [route, overview.data?.project])

  return (
    <div class="layout">
      <aside class="sidebar">
        <a class="brand" href={href()}>
          <span class="brand-mark">M</span>
          <span>
            <span class="brand-name">Morsel</span>
            <span class="brand-project" data-testid="project">
              {overview.data?.project ?? '…'}
            </span>
          </span>
        </a>
        <nav>
          {NAV.map((n) => (
            <a key={n.page} href={href(...(n.page === '' ? [] : [n.page]))} class={page === n.page ? 'active' : ''}>
              {n.label}
            </a>
          ))}
        </nav>
        {overview.data !== undefined && overview.data.apps.length > 0 && (
          <div class="sidebar-apps">
            <div class="sidebar-title">Apps</div>
            {overview.data.apps.map((p) => (
              <a key={p} href={`../${p.replace(/^\//, '')}/`}>
                {p}/
              </a>
            ))}
          </div>
        )}
        <div class="sidebar-foot">Read-only console</div>
      </aside>
      <div class="main">
        <TopBar route={route} auth={overview.data?.auth} principal={overview.data?.principal} />
        <main class="content">{pageFor(route)}</main>
      </div>
    </div>
  )
}

function TopBar(props: { readonly route: Route; readonly auth: string | undefined; readonly principal: string | undefined }) {
  const [q, setQ] = useState(props.route.segments[0] === 'search' ? (props.route.query.get('q') ?? '') : '')
  const [token, setTokenField] = useState(getToken())
  return (
    <div class="topbar">
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          navigate(`${href('search')}?q=${encodeURIComponent(q)}`)
        }}
      >
        <input type="search" name="q" placeholder="Search entities, views, features, services, tags…" value={q} onInput={(e) => setQ(e.currentTarget.value)} aria-label="Search the registry" />
      </form>
      <form
        class="token"
        onSubmit={(e) => {
          e.preventDefault()
          setToken(token.trim())
        }}
      >
        <span class="token-state" data-testid="principal">
          {props.auth === undefined ? '' : props.auth === 'none' ? 'access control off' : `signed in as ${props.principal ?? '?'}`}
        </span>
        <input type="password" name="token" placeholder="API key or token" value={token} onInput={(e) => setTokenField(e.currentTarget.value)} aria-label="API key or token" autocomplete="off" />
        <button type="submit">Use</button>
      </form>
    </div>
  )
}

function pageFor(route: Route) {
  const [page = '', name] = route.segments
  switch (page) {
    case '':
      return <OverviewPage />
    case 'entities':
      return <EntitiesPage />
    case 'views':
      return name !== undefined ? <FeatureViewPage name={name} /> : <FeatureViewsPage filter={route.query.get('q') ?? ''} />
    case 'on-demand':
      return name !== undefined ? <OnDemandViewPage name={name} /> : <OnDemandViewsPage />
    case 'services':
      return name !== undefined ? <FeatureServicePage name={name} /> : <FeatureServicesPage />
    case 'metrics':
      return <MetricsPage />
    case 'lookup':
      return <LookupPage query={route.query} />
    case 'search':
      return <SearchPage q={route.query.get('q') ?? ''} />
    default:
      return <div class="empty">No page '{page}'. Use the menu on the left.</div>
  }
}

function titleOf(route: Route): string {
  const [page = '', name] = route.segments
  if (name !== undefined) return name
  return NAV.find((n) => n.page === page)?.label ?? (page === 'search' ? 'Search' : 'Console')
}
