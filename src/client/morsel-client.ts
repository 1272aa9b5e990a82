import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { kindOf } from '../definitions/common.js'
import type { FeatureService } from '../definitions/feature-service.js'
import type { FeatureView, FeatureViewProjection } from '../definitions/feature-view.js'
import type { OnDemandFeatureView } from '../definitions/on-demand-feature-view.js'
import { ERROR_CODES, MorselError, type ErrorCode } from '../errors/index.js'
import type { OnlineFeaturesRequest, ServiceRow, TypedServiceRequest } from '../feature-store.js'
import { parseDateTimeMicros } from '../internal/time.js'
import { entityRowsToColumns } from '../serving/entity-input.js'
import { FieldStatus, type FieldStatusName } from '../serving/field-status.js'
import { OnlineResponse } from '../serving/online-response.js'
import { ELEMENT_OF, ValueType, type ValueTypeCode } from '../types/value-type.js'

export interface MorselClientOptions {
  /** The feature server, e.g. `http://127.0.0.1:6566` or `https://features.internal`. */
  readonly url: string
  /** An API key (`feature_server.auth.type: api_key`). */
  readonly apiKey?: string
  /** A JWT, or a function returning a fresh one for each request (`auth.type: jwt`). */
  readonly token?: string | (() => string | Promise<string>)
  /** Per-request deadline in milliseconds. Default 5000. */
  readonly timeoutMs?: number
  /** Most concurrent connections kept to the server. Default 64. */
  readonly maxSockets?: number
  /** Certificate authority to trust for HTTPS (a server with its own CA). */
  readonly ca?: string | Buffer
  readonly headers?: Readonly<Record<string, string>>
}

export interface PushResult {
  readonly pushSource: string
  readonly rows: number
  readonly to: 'online' | 'offline' | 'both'
  readonly featureViews: ReadonlyArray<{ readonly name: string; readonly written: number; readonly skipped: number }>
  readonly offlineRows: number
}

export interface WriteResult {
  readonly rows: number
  readonly written: number
  readonly skipped: number
}

export interface MaterializeJobInfo {
  readonly jobId: string
  readonly status: 'accepted' | 'running' | 'succeeded' | 'failed'
  readonly featureViews: readonly string[]
  readonly result?: unknown
  readonly error?: { readonly code: string; readonly message: string } | null
}

type Rows = readonly Readonly<Record<string, unknown>>[] | Readonly<Record<string, readonly unknown[]>>

const STATUS_CODES: Readonly<Record<string, number>> = FieldStatus
const EPOCH = '1970-01-01T00:00:00Z'

/**
 * A client of the Morsel (or Feast) feature server with the in-process store's read API:
 * `getOnlineFeatures` takes the same request and returns the same `OnlineResponse`, typed when it
 * is given a `FeatureService` object (whose value types also turn base64 back into bytes and epoch
 * seconds back into Dates). Connections are kept alive; a server error comes back as a
 * `MorselError` with the server's code.
 *
 * @example
 * const client = new MorselClient({ url: 'http://127.0.0.1:6566' })
 * const res = await client.getOnlineFeatures({
 *   features: ['zipcode_features:city', 'credit_history:credit_card_due'],
 *   entityRows: [{ zipcode: 76104, dob_ssn: '19630621_4278' }],
 * })
 * res.toRows()[0] // { zipcode: 76104, dob_ssn: '19630621_4278', city: 'FORT WORTH', credit_card_due: 1795 }
 */
export class MorselClient {
  readonly url: string
  readonly #options: MorselClientOptions
  readonly #https: boolean
  readonly #agent: HttpAgent
  readonly #host: string
  readonly #port: number
  readonly #basePath: string
  readonly #timeoutMs: number

  constructor(options: MorselClientOptions | string) {
    const opts = typeof options === 'string' ? { url: options } : options
    let parsed: URL
    try {
      parsed = new URL(opts.url)
    } catch {
      throw new MorselError('MORSEL_USAGE', `MorselClient: '${opts.url}' is not a URL; give one such as http://127.0.0.1:6566.`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new MorselError('MORSEL_USAGE', `MorselClient: '${opts.url}' must be an http:// or https:// URL.`)
    }
    this.#options = opts
    this.#https = parsed.protocol === 'https:'
    this.#host = parsed.hostname.replace(/^\[|\]$/g, '')
    this.#port = parsed.port !== '' ? Number(parsed.port) : this.#https ? 443 : 80
    this.#basePath = parsed.pathname.replace(/\/+$/, '')
    this.url = `${parsed.protocol}//${parsed.host}${this.#basePath}`
    this.#timeoutMs = opts.timeoutMs ?? 5000
    const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets ?? 64, scheduling: 'lifo' as const }
    this.#agent = this.#https ? new HttpsAgent({ ...agentOptions, ...(opts.ca !== undefined && { ca: opts.ca }) }) : new HttpAgent(agentOptions)
  }

  /** Reads the latest feature values of entities, as `FeatureStore.getOnlineFeatures` does, over HTTP. */
  getOnlineFeatures<S extends FeatureService, Full extends boolean = false>(request: TypedServiceRequest<S, Full>): Promise<OnlineResponse<ServiceRow<S, Full>>>
  getOnlineFeatures(request: OnlineFeaturesRequest): Promise<OnlineResponse>
  async getOnlineFeatures(request: OnlineFeaturesRequest): Promise<OnlineResponse> {
    const entities = toColumns(request)
    const svc = request.featureService
    const body: Record<string, unknown> = {
      ...(svc !== undefined ? { feature_service: typeof svc === 'string' ? svc : svc.spec.name } : { features: request.features ?? [] }),
      entities,
      full_feature_names: request.fullFeatureNames === true,
    }
    const parsed = await this.#call('POST', '/get-online-features', body, request.signal)
    const types = svc !== undefined && typeof svc !== 'string' ? serviceTypes(svc, request.fullFeatureNames === true) : undefined
    return fromFeastJson(parsed, Object.keys(entities).length, types)
  }

  /** Pushes rows to a push source (`to`: online, offline or both). */
  async push(pushSource: string, rows: Rows, options: { readonly to?: 'online' | 'offline' | 'both' } = {}): Promise<PushResult> {
    const r = (await this.#call('POST', '/push', { push_source_name: pushSource, df: toColumns({ rows }), to: options.to ?? 'online' })) as {
      push_source_name: string
      rows: number
      to: PushResult['to']
      feature_views: PushResult['featureViews']
      offline_rows: number
    }
    return { pushSource: r.push_source_name, rows: r.rows, to: r.to, featureViews: r.feature_views, offlineRows: r.offline_rows }
  }

  /** Writes rows of a feature view to the online store. */
  async writeToOnlineStore(featureView: string, rows: Rows): Promise<WriteResult> {
    const r = (await this.#call('POST', '/write-to-online-store', { feature_view_name: featureView, df: toColumns({ rows }) })) as WriteResult
    return { rows: r.rows, written: r.written, skipped: r.skipped }
  }

  /** Materializes `[start, end]`; with `async: true` returns at once with a job to poll (`job(id)`). */
  async materialize(options: { readonly start: Date; readonly end: Date; readonly views?: readonly string[]; readonly async?: boolean }): Promise<MaterializeJobInfo> {
    const body = { start_ts: options.start.toISOString(), end_ts: options.end.toISOString(), ...(options.views !== undefined && { feature_views: options.views }) }
    return jobInfo(await this.#call('POST', `/materialize${options.async === true ? '?async=true' : ''}`, body))
  }

  async materializeIncremental(options: { readonly end: Date; readonly views?: readonly string[]; readonly async?: boolean }): Promise<MaterializeJobInfo> {
    const body = { end_ts: options.end.toISOString(), ...(options.views !== undefined && { feature_views: options.views }) }
    return jobInfo(await this.#call('POST', `/materialize-incremental${options.async === true ? '?async=true' : ''}`, body))
  }

  async job(id: string): Promise<MaterializeJobInfo> {
    return jobInfo(await this.#call('GET', `/materialize/jobs/${encodeURIComponent(id)}`))
  }

  /** True when the server answers `/ready` (its online store is reachable). */
  async ready(): Promise<boolean> {
    try {
      await this.#call('GET', '/ready')
      return true
    } catch {
      return false
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy()
  }

  async #call(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.#options.headers }
    const token = typeof this.#options.token === 'function' ? await this.#options.token() : this.#options.token
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    else if (this.#options.apiKey !== undefined) headers.authorization = `Bearer ${this.#options.apiKey}`
    let payload: string | undefined
    if (body !== undefined) {
      payload = JSON.stringify(body, jsonReplacer)
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(payload))
    }
    const { status, text, responseHeaders } = await this.#send(method, path, headers, payload, signal, true)
    let parsed: unknown
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null
    } catch {
      throw new MorselError(status >= 500 ? 'MORSEL_STORE_ERROR' : 'MORSEL_REQUEST_INVALID', `The feature server at ${this.url} answered ${status} with a body that is not JSON.`)
    }
    if (status >= 200 && status < 300) return parsed
    throw serverError(status, parsed, responseHeaders, this.url)
  }

  #send(
    method: string,
    path: string,
    headers: Record<string, string>,
    payload: string | undefined,
    signal: AbortSignal | undefined,
    retryOnStaleSocket: boolean,
  ): Promise<{ status: number; text: string; responseHeaders: IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new MorselError('MORSEL_TIMEOUT', 'The request was aborted before it was sent.'))
        return
      }
      const send = this.#https ? httpsRequest : httpRequest
      let settled = false
      const req = send(
        { agent: this.#agent, host: this.#host, port: this.#port, method, path: this.#basePath + path, headers },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            finish()
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), responseHeaders: res.headers })
          })
          res.on('error', (err) => fail(err))
          res.on('close', () => fail(new Error('the connection closed before the answer was complete')))
        },
      )
      // Why the request was cut short, when this side cut it: the error to report instead of the socket's.
      let cause: MorselError | undefined
      const cut = (err: MorselError): void => {
        cause = err
        req.destroy(err)
      }
      const timer = setTimeout(() => {
        cut(new MorselError('MORSEL_TIMEOUT', `The feature server at ${this.url} did not answer ${method} ${path} within ${this.#timeoutMs} ms.`))
      }, this.#timeoutMs)
      const onAbort = (): void => cut(new MorselError('MORSEL_TIMEOUT', `${method} ${path} was aborted.`))
      signal?.addEventListener('abort', onAbort, { once: true })
      const finish = (): void => {
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const fail = (err: Error): void => {
        if (settled) return
        finish()
        if (cause !== undefined) {
          reject(cause)
          return
        }
        // A kept-alive socket the server closed meanwhile fails before the request reached it: send again once.
        if (retryOnStaleSocket && req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
          this.#send(method, path, headers, payload, signal, false).then(resolve, reject)
          return
        }
        reject(err instanceof MorselError ? err : new MorselError('MORSEL_STORE_UNAVAILABLE', `Cannot reach the feature server at ${this.url}: ${err.message}`, { cause: err }))
      }
      req.on('error', fail)
      req.end(payload)
    })
  }
}

function serverError(status: number, body: unknown, headers: IncomingHttpHeaders, url: string): MorselError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error
  const requestId = headers['x-request-id']
  const details = { status, ...(typeof requestId === 'string' && { requestId }) }
  if (e !== undefined && typeof e.code === 'string' && typeof e.message === 'string' && Object.hasOwn(ERROR_CODES, e.code)) {
    return new MorselError(e.code as ErrorCode, e.message, { details })
  }
  // Feast's own server answers errors as a JSON string (or `{"detail": …}`) without a Morsel code.
  const message = typeof body === 'string' ? body : JSON.stringify(body)
  const code: ErrorCode = status === 401 ? 'MORSEL_UNAUTHENTICATED' : status === 403 ? 'MORSEL_FORBIDDEN' : status === 404 ? 'MORSEL_NOT_FOUND' : status === 503 ? 'MORSEL_STORE_UNAVAILABLE' : status < 500 ? 'MORSEL_REQUEST_INVALID' : 'MORSEL_STORE_ERROR'
  return new MorselError(code, `The feature server at ${url} answered ${status}: ${message}`, { details })
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  return value
}

/** Entity rows or columns as Feast's columnar `entities` object. */
function toColumns(request: { readonly entityRows?: Rows; readonly entities?: Rows; readonly rows?: Rows }): Record<string, unknown[]> {
  const given = request.rows ?? request.entityRows ?? request.entities
  if (request.entityRows !== undefined && request.entities !== undefined) {
    throw new MorselError('MORSEL_REQUEST_INVALID', 'Give either `entityRows` or `entities`, not both.')
  }
  if (given === undefined) throw new MorselError('MORSEL_REQUEST_INVALID', 'No entities given: pass `entityRows` (e.g. [{ zipcode: 76104 }]) or `entities`.')
  if (!Array.isArray(given)) return given as Record<string, unknown[]>
  // The same checks as in process, so a request fails the same way through either door.
  const input = entityRowsToColumns(given)
  return Object.fromEntries(input.names.map((n) => [n, input.columns.get(n) as unknown[]]))
}

/** Feast's column-major JSON back into an OnlineResponse. */
export function fromFeastJson(body: unknown, requestColumns: number, types?: ReadonlyMap<string, ValueTypeCode>): OnlineResponse {
  const b = body as { metadata?: { feature_names?: unknown }; results?: unknown }
  const names = b?.metadata?.feature_names
  const results = b?.results
  if (!Array.isArray(names) || !Array.isArray(results) || results.length !== names.length) {
    throw new MorselError('MORSEL_STORE_ERROR', 'The feature server answered with a body that is not a get-online-features response.')
  }
  const rowCount = (results[0] as { values?: unknown[] } | undefined)?.values?.length ?? 0
  const values: unknown[][] = []
  const statuses: Uint8Array[] = []
  const times: Float64Array[] = []
  results.forEach((res: { values?: unknown[]; statuses?: FieldStatusName[]; event_timestamps?: string[] }, c) => {
    const type = c >= requestColumns ? types?.get(names[c] as string) : undefined
    const vals = res.values ?? []
    values.push(type === undefined ? vals : vals.map((v) => decodeJson(v, type)))
    const st = new Uint8Array(rowCount)
    const ts = new Float64Array(rowCount)
    for (let r = 0; r < rowCount; r++) {
      st[r] = STATUS_CODES[res.statuses?.[r] ?? 'PRESENT'] ?? FieldStatus.INVALID
      const t = res.event_timestamps?.[r]
      ts[r] = t === undefined || t === EPOCH ? 0 : (parseDateTimeMicros(t) ?? 0)
    }
    statuses.push(st)
    times.push(ts)
  })
  return new OnlineResponse(names as string[], rowCount, values, statuses, times, requestColumns)
}

/** The JSON form of a value (bytes base64, times epoch seconds) back into its TypeScript form. */
function decodeJson(v: unknown, type: ValueTypeCode): unknown {
  if (v === null || v === undefined) return null
  const element = ELEMENT_OF[type]
  if (element !== undefined) return Array.isArray(v) ? v.map((x) => decodeJson(x, element)) : v
  if (type === ValueType.BYTES && typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64'))
  if (type === ValueType.UNIX_TIMESTAMP && typeof v === 'number') return new Date(v * 1000)
  return v
}

/** Column name → value type of every feature a service serves, as the response names them. */
function serviceTypes(svc: FeatureService, full: boolean): Map<string, ValueTypeCode> {
  const out = new Map<string, ValueTypeCode>()
  for (const m of svc.members) {
    let view: string
    let fields: ReadonlyArray<{ readonly name: string; readonly valueType: number }>
    switch (kindOf(m)) {
      case 'featureViewProjection': {
        const p = m as FeatureViewProjection
        view = p.view.spec.name
        fields = p.view.spec.features.filter((f) => p.features.includes(f.name))
        break
      }
      case 'featureView':
      case 'onDemandFeatureView': {
        const v = m as FeatureView | OnDemandFeatureView
        view = v.spec.name
        fields = v.spec.features
        break
      }
      default:
        continue
    }
    for (const f of fields) out.set(full ? `${view}__${f.name}` : f.name, f.valueType as ValueTypeCode)
  }
  return out
}

function jobInfo(body: unknown): MaterializeJobInfo {
  const b = body as { job_id: string; status: MaterializeJobInfo['status']; feature_views: string[]; result?: unknown; error?: MaterializeJobInfo['error'] }
  return { jobId: b.job_id, status: b.status, featureViews: b.feature_views, ...(b.result !== undefined && { result: b.result }), ...(b.error !== undefined && { error: b.error }) }
}
