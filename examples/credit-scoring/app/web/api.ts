import type { LoanErrorResponse } from '../loan-api-types'
import type { LoanFormErrors } from '../loan-form'

const TOKEN_KEY = 'morsel.loan.token'

/** An error answer: Morsel's code and message, and per-field messages for a form the server refused. */
export class LoanApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: LoanFormErrors

  constructor(status: number, code: string, message: string, fields: LoanFormErrors = {}) {
    super(message)
    this.status = status
    this.code = code
    this.fields = fields
  }

  get needsCredentials(): boolean {
    return this.status === 401 || this.status === 403
  }
}

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? ''
}

export function setToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
}

/** Calls one of the app's endpoints (relative to the page: /loan/api/…) with the server's credential header. */
export async function callApi<T>(path: string, body?: unknown): Promise<T> {
  const token = getToken()
  let res: Response
  try {
    res = await fetch(`api/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(token !== '' && { authorization: `Bearer ${token}` }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
  } catch (err) {
    throw new LoanApiError(0, 'MORSEL_STORE_UNAVAILABLE', `The server cannot be reached (${(err as Error).message}).`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(await res.text())
  } catch {
    throw new LoanApiError(res.status, 'MORSEL_INTERNAL', `The server answered ${res.status} with something that is not JSON.`)
  }
  if (!res.ok) {
    const e = (parsed as Partial<LoanErrorResponse>).error
    throw new LoanApiError(res.status, e?.code ?? 'MORSEL_INTERNAL', e?.message ?? `The server answered ${res.status}.`, e?.fields ?? {})
  }
  return parsed as T
}
