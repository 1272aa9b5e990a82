import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { STATUS_CODES, maxHeaderSize, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import { MorselError } from '../errors/index.js'
import type { FeatureStore } from '../feature-store.js'
import { createAuthenticator } from './auth/authenticator.js'
import { PermissionPolicy } from './auth/permission-policy.js'
import type { FeatureServerConfig } from './feature-server-config.js'
import { RETRY_AFTER_SECONDS, errorBody, publicError, statusOf, toHttpError } from './http-error.js'
import { MaterializeJobs } from './materialize-jobs.js'
import { parseJsonBody } from './request-body.js'
import { registerMaterializeRoutes } from './routes/materialize-routes.js'
import { registerOnlineFeaturesRoute } from './routes/online-features-route.js'
import { registerOpsRoutes } from './routes/ops-routes.js'
import { registerWriteRoutes } from './routes/write-routes.js'
import { registerConsole } from './console/register-console.js'
import { registerServerApps } from './apps/register-server-apps.js'
import { principalOf, type ServerContext } from './server-context.js'
import { ServerMetrics } from './server-metrics.js'
import { StoreHealthMonitor } from './store-health-monitor.js'

export interface CreateServerOptions {
  /** Default: the repository's `feature_server` section. */
  readonly config?: FeatureServerConfig
  /**
   * The address the server will listen on, checked against the access-control setting. Default:
   * `config.host`.
   */
  readonly host?: string
  /** Structured logs (pino). Default: none. */
  readonly logger?: FastifyBaseLogger
  /** Default: a new set, observing `store`. Pass one to share it with an instrumented online store. */
  readonly metrics?: ServerMetrics
  /** TLS certificate and key (PEM). Default: the files of `config.tls`, if any. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }
}

const ENDPOINTS = [
  'POST /get-online-features',
  'POST /push',
  'POST /write-to-online-store',
  'POST /materialize',
  'POST /materialize-incremental',
  'GET /materialize/jobs/:id',
  'GET /health',
  'GET /ready',
  'GET /metrics',
]
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The feature server as a Fastify instance: Feast's HTTP API over a FeatureStore, with access
 * control, limits, deadlines, metrics and structured logs. Test it with `inject`, serve it with
 * `listen`; closing it drains in-flight requests and running materializations (the store stays
 * open: it belongs to the caller).
 *
 * @example
 * const app = createServer(await FeatureStore.open('feature_repo'))
 * await app.listen({ port: 6566 })
 */
export function createServer(store: FeatureStore, options: CreateServerOptions = {}): FastifyInstance {
  const config = options.config ?? store.config.featureServer
  const host = options.host ?? config.host
  checkExposure(host, config)
  const metrics = options.metrics ?? new ServerMetrics({ processMetrics: config.metrics.enabled })
  // With metrics off, nothing observes reads (no per-request cost); the registry still exists, unexposed.
  const removeObserver = options.metrics === undefined && config.metrics.enabled ? store.addObserver(metrics.observer) : undefined
  const authenticator = createAuthenticator(config.auth, store.project)
  const policy = new PermissionPolicy(config.permissions, store.project)
  const health = new StoreHealthMonitor(store, metrics, config.metrics.storeStatsIntervalSeconds)
  const jobs = new MaterializeJobs((n) => metrics.setJobsRunning(n))
  const tls = options.tls ?? (config.tls !== undefined ? readTls(config.tls) : undefined)
  const { clientTimeoutMs } = config.limits
  // Node checks these every `connectionsCheckingInterval` (30 s by default), which would let a
  // slow client hold its connection up to 30 s past the timeout.
  const clientTimeouts = {
    // A request without Host is answered below in Morsel's error form rather than by Node's bare 400.
    requireHostHeader: false,
    headersTimeout: clientTimeoutMs,
    requestTimeout: clientTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(clientTimeoutMs / 4))),
  }

  const app = Fastify({
    ...(options.logger !== undefined ? { loggerInstance: options.logger } : { logger: false }),
    ...(tls !== undefined ? { https: { cert: tls.cert, key: tls.key, handshakeTimeout: clientTimeoutMs, ...clientTimeouts } } : { http: clientTimeouts }),
    bodyLimit: config.limits.maxBodyBytes,
    // One access-log line per request, written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    // Node's limit on receiving a whole request, so a slow client cannot hold a socket forever.
    requestTimeout: clientTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    clientErrorHandler(err, socket) {
      answerClientError(err, socket, clientTimeoutMs)
    },
    // Requests arriving while the server drains get Morsel's 503 from the onRequest hook below.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  })

  const authHooks =
    authenticator.type === 'none'
      ? []
      : [
          async (request: FastifyRequest): Promise<void> => {
            request.principal = await authenticator.authenticate(request.headers)
          },
        ]
  app.decorateRequest('principal', null)

  const ctx: ServerContext = { store, config, metrics, authenticator, policy, health, jobs, authHooks }

  // One parser for every content type: Feast's curl examples send JSON without saying so.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: config.limits.maxBodyBytes }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string))
    } catch (err) {
      done(err as Error, undefined)
    }
  })

  let draining = false
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      throw new MorselError('MORSEL_REQUEST_INVALID', 'An HTTP/1.1 request needs a Host header.')
    }
    if (draining) {
      const e = new MorselError('MORSEL_STORE_UNAVAILABLE', 'The feature server is shutting down; send the request to another instance.')
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).header('connection', 'close').type('application/json; charset=utf-8').send(errorBody(e))
    }
  })
  // No access-log object is built per request when the level would drop it anyway (pino answers isLevelEnabled).
  const accessLog = options.logger !== undefined && (options.logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') !== false
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.recordHttp(route, request.method, reply.statusCode, reply.elapsedTime / 1000)
    if (accessLog) {
      request.log.info({ method: request.method, url: loggedUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100, principal: principalOf(request).name }, 'request')
    }
  })

  app.setErrorHandler(async (err, request, reply) => {
    const e = toHttpError(err, request.id, config.limits.maxBodyBytes)
    const status = statusOf(e)
    // The log line carries the request id (pino's reqId), the same id the answer names.
    if (status >= 500) request.log.error({ err, code: e.code, status }, e.code === 'MORSEL_INTERNAL' ? 'unexpected error' : e.message)
    else request.log.info({ code: e.code, status }, e.message)
    if (status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS))
    return reply.code(status).type('application/json; charset=utf-8').send(errorBody(publicError(e, request.id)))
  })

  app.setNotFoundHandler(async (request, reply) => {
    const url = request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url
    const e = new MorselError('MORSEL_NOT_FOUND', `No endpoint ${request.method} ${url}. Endpoints: ${ENDPOINTS.join(', ')}.`)
    return reply.code(404).type('application/json; charset=utf-8').send(errorBody(e))
  })

  registerOnlineFeaturesRoute(app, ctx)
  registerWriteRoutes(app, ctx)
  registerMaterializeRoutes(app, ctx)
  registerOpsRoutes(app, ctx)
  registerConsole(app, ctx)
  registerServerApps(app, ctx)

  let unsubscribe: (() => void) | undefined
  app.addHook('onReady', async () => {
    const snapshot = await store.registry.snapshot()
    metrics.setRegistryVersion(snapshot.version)
    await warmUp(ctx, app)
    unsubscribe = store.registry.onChange((snap) => {
      metrics.setRegistryVersion(snap.version)
      app.log.info({ registryVersion: snap.version }, 'registry changed; serving the new version')
      void warmUp(ctx, app)
    })
    store.registry.startAutoRefresh((err) => {
      metrics.registryRefreshFailed()
      app.log.warn({ err }, 'registry refresh failed; still serving the last version read')
    })
    health.start()
  })
  let idleSweep: NodeJS.Timeout | undefined
  app.addHook('preClose', async () => {
    draining = true
    // Keep-alive connections that finish their last request while the server drains would stay
    // open until their idle timeout: close each as soon as it is idle.
    idleSweep = setInterval(() => app.server.closeIdleConnections(), 50)
    idleSweep.unref()
    await jobs.drain(config.shutdownTimeoutMs)
  })
  app.addHook('onClose', async () => {
    clearInterval(idleSweep)
    health.stop()
    unsubscribe?.()
    store.registry.stopAutoRefresh()
    removeObserver?.()
  })
  return app
}

/**
 * Requests Node refuses before Fastify sees them (not HTTP, headers too large, too slow) get an
 * answer in Morsel's error form, as every other failure does, and the connection is closed.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex, clientTimeoutMs: number): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const e =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new MorselError('MORSEL_REQUEST_TIMEOUT', `The request was not received in full within ${clientTimeoutMs} ms (\`feature_server.limits.client_timeout_ms\`); the connection is closed.`)
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new MorselError('MORSEL_HEADERS_TOO_LARGE', `The request headers are larger than the ${maxHeaderSize} bytes this server accepts; send fewer or shorter headers.`)
        : new MorselError('MORSEL_REQUEST_INVALID', `The request is not valid HTTP/1.1${err.code !== undefined ? ` (${err.code})` : ''}; the connection is closed.`)
  // Bytes that follow a request received in full and still being answered (a body sent without
  // framing, a broken pipeline): an error answer now would be read as the answer to that request,
  // so the connection is closed once its answer is out. An error in the request itself (its body
  // too slow or malformed) is answered here.
  const inFlight = (socket as { _httpMessage?: ServerResponse | null })._httpMessage
  if (inFlight != null && !inFlight.writableFinished && (inFlight.req.complete || inFlight.headersSent)) {
    // Told, the client does not send its next request on a connection about to close.
    if (!inFlight.headersSent) inFlight.setHeader('connection', 'close')
    const close = (): void => {
      socket.destroy()
    }
    inFlight.once('finish', close)
    inFlight.once('close', close)
    return
  }
  if (socket.writable) {
    const status = statusOf(e)
    const body = errorBody(e)
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

const SECRET_PARAM = /^(.*(key|token|secret|passw|pwd|auth|credential|signature|sig).*)$/i

/**
 * The URL as the access log writes it: the values of query parameters whose names suggest a
 * credential are replaced. Morsel never reads credentials from the query string, but a client that
 * puts one there (`?api_key=…`) must not have it copied into every log line.
 */
export function loggedUrl(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = url
    .slice(q + 1)
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=')
      const name = eq === -1 ? p : p.slice(0, eq)
      let decoded = name
      try {
        decoded = decodeURIComponent(name)
      } catch {
        // A malformed escape: judged as sent.
      }
      return eq !== -1 && SECRET_PARAM.test(decoded) ? `${name}=[redacted]` : p
    })
  return `${url.slice(0, q)}?${params.join('&')}`
}

/** Host names that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/** Refuses to serve without access control anywhere but on loopback. */
export function checkExposure(host: string, config: FeatureServerConfig): void {
  if (config.auth.type === 'none' && !isLoopback(host)) {
    throw new MorselError(
      'MORSEL_CONFIG_INVALID',
      `Refusing to listen on ${host} with access control off: \`feature_server.auth.type\` is none, which is allowed only on a loopback address (127.0.0.1, ::1, localhost). Set \`feature_server.auth\` (api_key or jwt), or keep \`feature_server.host\` on loopback.`,
      { details: { host } },
    )
  }
}

function readTls(tls: { readonly certFile: string; readonly keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (file: string, key: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new MorselError('MORSEL_CONFIG_INVALID', `\`feature_server.tls.${key}\` ${file} cannot be read: ${(err as Error).message}`, { cause: err })
    }
  }
  return { cert: read(tls.certFile, 'cert_file'), key: read(tls.keyFile, 'key_file') }
}

/**
 * Opens the online store and compiles the read plan of every feature service before traffic
 * arrives, so the first request is as fast as the next (and again after each apply).
 */
async function warmUp(ctx: ServerContext, app: FastifyInstance): Promise<void> {
  const { store } = ctx
  try {
    await store.onlineStore()
  } catch (err) {
    app.log.warn({ err }, 'the online store cannot be opened yet; requests will fail with 503 until it can')
    return
  }
  const snapshot = store.registry.current()
  if (snapshot === undefined) return
  for (const name of snapshot.featureServices.keys()) {
    try {
      store.planFor(snapshot, { featureService: name })
    } catch (err) {
      app.log.warn({ err, featureService: name }, 'feature service cannot be served')
    }
  }
}
