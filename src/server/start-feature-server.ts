import type { FastifyInstance } from 'fastify'
import { pino, stdSerializers, type Logger } from 'pino'
import { loadRepoConfig } from '../config/load-config.js'
import type { RepoConfig } from '../config/repo-config.js'
import { MorselError, isMorselError } from '../errors/index.js'
import { FeatureStore } from '../feature-store.js'
import { createOnlineStore } from '../online/backends.js'
import type { OnlineStore } from '../online/online-store.js'
import { checkExposure, createServer } from './create-server.js'
import { DeferredOnlineStore } from './deferred-online-store.js'
import type { FeatureServerConfig } from './feature-server-config.js'
import { InstrumentedOnlineStore } from './instrumented-online-store.js'
import { redactCredentials } from './redact-credentials.js'
import { ServerMetrics } from './server-metrics.js'

export interface StartFeatureServerOptions {
  /** The feature repository. Default: the working directory. */
  readonly repoPath?: string
  readonly configPath?: string
  /** Already-loaded configuration (skips reading feature_store.yaml). */
  readonly config?: RepoConfig
  readonly env?: NodeJS.ProcessEnv
  /** Override `feature_server.host` / `port` / `tls`. */
  readonly host?: string
  readonly port?: number
  readonly tls?: { readonly certFile: string; readonly keyFile: string }
  /** Default: JSON lines on stdout at `logLevel`. */
  readonly logger?: Logger
  /** Default `info` (one line per request); `warn` keeps only problems. */
  readonly logLevel?: string
  /** Shut down gracefully on SIGTERM and SIGINT. Default true. */
  readonly handleSignals?: boolean
}

export interface FeatureServerUrls {
  readonly base: string
  readonly getOnlineFeatures: string
  readonly push: string
  readonly health: string
  readonly ready: string
  readonly metrics: string
}

export interface RunningFeatureServer {
  readonly app: FastifyInstance
  readonly store: FeatureStore
  readonly urls: FeatureServerUrls
  readonly logger: Logger
  /** Resolves once the server has shut down (a signal, or `close()`). */
  readonly closed: Promise<void>
  /** Stops accepting, drains in-flight requests and running materializations, closes the store. */
  close(): Promise<void>
}

/** Header and field names whose values never reach a log line. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
]

/**
 * `morsel serve` as a function: opens the repository with an instrumented online store, serves it,
 * and shuts down gracefully. Used by the CLI, and by anything that wants to keep serving after its
 * own work (the example's `npm start`).
 *
 * @example
 * const server = await startFeatureServer({ repoPath: 'feature_repo', port: 6566 })
 * console.log(server.urls.getOnlineFeatures)
 * await server.closed
 */
export async function startFeatureServer(options: StartFeatureServerOptions = {}): Promise<RunningFeatureServer> {
  const config =
    options.config ??
    loadRepoConfig({
      ...(options.repoPath !== undefined && { repoPath: options.repoPath }),
      ...(options.configPath !== undefined && { configPath: options.configPath }),
      ...(options.env !== undefined && { env: options.env }),
    })
  const serverConfig: FeatureServerConfig = {
    ...config.featureServer,
    ...(options.host !== undefined && { host: options.host }),
    ...(options.port !== undefined && { port: options.port }),
    ...(options.tls !== undefined && { tls: options.tls }),
  }
  // Before connecting to anything: a refused configuration should fail at once.
  checkExposure(serverConfig.host, serverConfig)
  const logger =
    options.logger ??
    pino({
      level: options.logLevel ?? 'info',
      base: { service: 'morsel', project: config.project },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      serializers: { err: redactedError },
    })

  const metricsOn = serverConfig.metrics.enabled
  const metrics = new ServerMetrics({ processMetrics: metricsOn })
  const connect = (): Promise<OnlineStore> =>
    createOnlineStore(config.onlineStore, {
      project: config.project,
      repoPath: config.repoPath,
      entityKeySerializationVersion: config.entityKeySerializationVersion,
    })
  let backend: OnlineStore
  try {
    backend = await connect()
  } catch (err) {
    // A store that cannot be reached now may be reachable in a moment (Redis starting after the
    // server, a restart, a partition): listen anyway, answer 503 meanwhile and keep connecting.
    // Refused credentials, bad configuration and a local file that cannot be opened are settled
    // facts: fail at once.
    if (!isMorselError(err, 'MORSEL_STORE_UNAVAILABLE') || config.onlineStore.type === 'sqlite') throw err
    logger.warn({ err }, 'the online store cannot be reached; serving anyway (503 on reads, not ready) and connecting in the background')
    backend = new DeferredOnlineStore({
      kind: config.onlineStore.type,
      connect,
      firstError: err,
      onAttemptFailed: (e) => logger.debug({ err: e }, 'the online store still cannot be reached'),
      onConnected: () => logger.info('connected to the online store'),
    })
  }
  const online = metricsOn ? new InstrumentedOnlineStore(backend, metrics) : backend
  let store: FeatureStore
  try {
    store = await FeatureStore.open({
      config,
      onlineStore: online,
      observer: {
        ...(metricsOn && metrics.observer),
        onUdfReloadError: (err) => logger.error({ err }, 'on-demand feature code could not be reloaded after an apply'),
      },
    })
  } catch (err) {
    await online.close()
    throw err
  }

  let app: FastifyInstance
  let base: string
  try {
    app = createServer(store, { config: serverConfig, host: serverConfig.host, logger, metrics })
    base = await app.listen({ host: serverConfig.host, port: serverConfig.port })
  } catch (err) {
    await store.close()
    throw listenError(err, serverConfig)
  }
  const urls: FeatureServerUrls = {
    base,
    getOnlineFeatures: `${base}/get-online-features`,
    push: `${base}/push`,
    health: `${base}/health`,
    ready: `${base}/ready`,
    metrics: `${base}/metrics`,
  }
  const snapshot = store.registry.current()
  logger.info({ urls, registryVersion: snapshot?.version, onlineStore: online.kind, auth: serverConfig.auth.type }, 'feature server listening')

  let resolveClosed: () => void = () => undefined
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  let closing: Promise<void> | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down: draining in-flight requests')
    void close()
  }
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      // Past the grace period, connections still open are cut rather than waited for.
      const force = setTimeout(() => app.server.closeAllConnections(), serverConfig.shutdownTimeoutMs + 1000)
      force.unref()
      try {
        await app.close()
      } finally {
        clearTimeout(force)
        await store.close()
        logger.info('feature server stopped')
        logger.flush()
        resolveClosed()
      }
    })()
    return closing
  }
  if (options.handleSignals !== false) {
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
  }
  return { app, store, urls, logger, closed, close }
}

function listenError(err: unknown, config: FeatureServerConfig): unknown {
  const code = (err as { code?: unknown }).code
  if (code === 'EADDRINUSE') {
    return new MorselError('MORSEL_USAGE', `Port ${config.port} on ${config.host} is in use; stop what holds it or pass --port (or set \`feature_server.port\`).`, { cause: err })
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new MorselError('MORSEL_USAGE', `Cannot listen on ${config.host}: no such local address (--host, \`feature_server.host\`).`, { cause: err })
  }
  if (code === 'EACCES') {
    return new MorselError('MORSEL_USAGE', `Not allowed to listen on port ${config.port}; ports below 1024 need privileges.`, { cause: err })
  }
  return err
}

/** pino's error serializer, with credentials taken out of the message and stack (and their causes'). */
function redactedError(err: Error): ReturnType<typeof stdSerializers.err> {
  const out = stdSerializers.err(err) as Record<string, unknown>
  for (const key of ['message', 'stack']) {
    if (typeof out[key] === 'string') out[key] = redactCredentials(out[key])
  }
  return out as ReturnType<typeof stdSerializers.err>
}
