import { useEffect, useState } from 'preact/hooks'

/** A page address: `#/views/credit_history?tab=x` → segments ['views', 'credit_history'], query. */
export interface Route {
  readonly segments: readonly string[]
  readonly query: URLSearchParams
}

function current(): Route {
  const hash = window.location.hash.replace(/^#\/?/, '')
  const [path = '', query = ''] = hash.split('?')
  return { segments: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) }
}

/** Pages are addressed by the URL's hash, so the server serves one file whatever the page. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current)
  useEffect(() => {
    const onChange = (): void => setRoute(current())
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return route
}

export function href(...segments: string[]): string {
  return `#/${segments.map(encodeURIComponent).join('/')}`
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '')
}
