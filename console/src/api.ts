import { useEffect, useRef, useState } from 'preact/hooks'

const TOKEN_KEY = 'morsel.console.token'

/** An error answer of the API, with Morsel's code (`MORSEL_UNAUTHENTICATED`, …). */
export class ApiError extends Error {
  readonly code: string
  readonly status: number

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }

  /** True when a (better) credential would help. */
  get needsCredentials(): boolean {
    return this.status === 401 || this.status === 403
  }
}

/** The credential the page sends (an API key or a JWT), kept in this browser tab's session. */
export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? ''
}

export function setToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
  for (const listener of tokenListeners) listener()
}

const tokenListeners = new Set<() => void>()

/** Re-renders when the token changes, so that pages fetch again with it. */
export function useTokenVersion(): number {
  const [version, setVersion] = useState(0)
  useEffect(() => {
    const listener = (): void => setVersion((v) => v + 1)
    tokenListeners.add(listener)
    return () => void tokenListeners.delete(listener)
  }, [])
  return version
}

/** GET a console API path (relative to /console/), with the same Authorization header the feature API takes. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const token = getToken()
  const res = await fetch(`api/${path}`, {
    headers: { accept: 'application/json', ...(token !== '' && { authorization: `Bearer ${token}` }) },
    ...(signal !== undefined && { signal }),
  })
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new ApiError(res.status, 'MORSEL_INTERNAL', `The server answered ${res.status} with something that is not JSON.`)
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } }).error
    throw new ApiError(res.status, err?.code ?? 'MORSEL_INTERNAL', err?.message ?? `The server answered ${res.status}.`)
  }
  return body as T
}

export interface ApiState<T> {
  readonly data: T | undefined
  readonly error: ApiError | undefined
  readonly loading: boolean
  /** Time of the last successful answer, epoch ms. */
  readonly updatedAt: number | undefined
}

/** Fetches a path, again every `pollMs` when given, and whenever the token changes. */
export function useApi<T>(path: string | null, pollMs?: number): ApiState<T> {
  const tokenVersion = useTokenVersion()
  const [state, setState] = useState<ApiState<T>>({ data: undefined, error: undefined, loading: path !== null, updatedAt: undefined })
  const pathRef = useRef(path)
  useEffect(() => {
    pathRef.current = path
    if (path === null) return
    const controller = new AbortController()
    let timer: number | undefined
    const load = async (): Promise<void> => {
      try {
        const data = await getJson<T>(path, controller.signal)
        if (pathRef.current === path) setState({ data, error: undefined, loading: false, updatedAt: Date.now() })
      } catch (err) {
        if (controller.signal.aborted) return
        const e = err instanceof ApiError ? err : new ApiError(0, 'MORSEL_STORE_UNAVAILABLE', `The server cannot be reached (${(err as Error).message}).`)
        if (pathRef.current === path) setState((s) => ({ ...s, error: e, loading: false }))
      }
      if (pollMs !== undefined && !controller.signal.aborted) timer = window.setTimeout(() => void load(), pollMs)
    }
    setState((s) => ({ ...s, loading: true }))
    void load()
    return () => {
      controller.abort()
      if (timer !== undefined) window.clearTimeout(timer)
    }
  }, [path, pollMs, tokenVersion])
  return state
}
