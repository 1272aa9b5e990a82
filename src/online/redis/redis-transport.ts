import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { isAbsolute, resolve } from 'node:path'
import type { EventEmitter } from 'node:events'
import { createClient, createCluster, createSentinel, RESP_TYPES, type RedisArgument } from 'redis'
import { MorselError } from '../../errors/index.js'
import type { OnlineStoreContext } from '../online-store.js'
import { isDefinitiveConnectError, redisError, type RedisEndpointDescription } from './redis-errors.js'
import { keySlot } from './redis-key-layout.js'
import { parseConnectionString, type ParsedConnection, type RedisOnlineStoreConfig } from './redis-online-store-config.js'
import type { TrackingInvalidationSink } from './tracking-cache.js'

/**
 * The connection to one Redis deployment (standalone, cluster or sentinel-managed), reduced to
 * what the store needs: send one command per key, routed to the node that holds the key, and run
 * commands on every master. node-redis writes every command queued on a connection within one
 * event-loop turn in a single socket write, so a burst of `send` calls is one pipeline per node,
 * and the per-node pipelines go out in parallel.
 */
export interface RedisTransport {
  readonly description: RedisEndpointDescription
  /** False while disconnected (reconnecting in the background): commands would fail at once. */
  readonly ready: boolean
  /** The last connection error seen, for messages while not ready. */
  readonly lastError: unknown
  /** Whether one command's keys must share a hash slot (Redis Cluster). */
  readonly slotBound: boolean
  /**
   * Sends `commands[i]`, whose key is `keys[i]`, to the node holding that key (a replica when
   * `replica` is set and replica reads are configured). `done` is called once per command.
   */
  send(commands: ReadonlyArray<readonly RedisArgument[]>, keys: readonly Buffer[], replica: boolean, done: ReplyCallback): void
  /** Every master, to run keyless commands on (SCAN, INFO, PING). */
  masters(): Promise<MasterNode[]>
  /** Drops the connection and opens a new one in the background (see ReplaceableTransport). */
  reset(): void
  /** How many times `reset` replaced the connection. */
  readonly resets: number
  close(): Promise<void>
}

export type ReplyCallback = (index: number, reply: unknown, error: unknown) => void

export interface MasterNode {
  readonly address: string
  command(args: readonly RedisArgument[]): Promise<unknown>
}

/** Replies as Buffers (binary-safe), maps (HGETALL) as flat [field, value, …] arrays. */
export const BUFFER_REPLIES = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Array } as const

/**
 * Per-command options. `timeout: 0` turns off node-redis's per-command timer (an AbortSignal per
 * command, which it only checks until the command is written): the store enforces its own deadline
 * per operation, which also covers the wait for the reply.
 */
const COMMAND_OPTIONS = { typeMapping: BUFFER_REPLIES, timeout: 0 }

export interface TransportOptions {
  readonly config: RedisOnlineStoreConfig
  readonly ctx: OnlineStoreContext
  readonly invalidationSink?: TrackingInvalidationSink
}

/** Connects within `connect_timeout_ms`, or throws MORSEL_STORE_UNAVAILABLE / MORSEL_STORE_AUTH. */
export async function connectTransport(options: TransportOptions): Promise<RedisTransport> {
  const settings = resolveSettings(options)
  switch (options.config.redis_type) {
    case 'redis':
      return StandaloneTransport.connect(settings, options)
    case 'redis_cluster':
      return ClusterTransport.connect(settings, options)
    case 'redis_sentinel':
      return SentinelTransport.connect(settings, options)
  }
}

interface Settings {
  readonly parsed: ParsedConnection
  readonly description: RedisEndpointDescription
  readonly username?: string
  readonly password?: string
  readonly tls: TlsSettings | undefined
  readonly connectTimeoutMs: number
  readonly clientName: string
}

interface TlsSettings {
  readonly ca?: Buffer
  readonly cert?: Buffer
  readonly key?: Buffer
  readonly servername?: string
  readonly rejectUnauthorized: boolean
  readonly checkHostname: boolean
}

function resolveSettings({ config, ctx }: TransportOptions): Settings {
  const parsed = parseConnectionString(config.connection_string)
  if (typeof parsed === 'string') {
    throw new MorselError('MORSEL_CONFIG_INVALID', `online_store.connection_string ${parsed}.`)
  }
  const username = config.username ?? parsed.username
  const password = config.password ?? parsed.password
  const tlsBlock = config.tls
  const tlsOn = tlsBlock !== undefined ? tlsBlock.enabled : parsed.tls
  let tls: TlsSettings | undefined
  if (tlsOn) {
    const caFile = tlsBlock?.ca_file ?? parsed.caFile
    const certFile = tlsBlock?.cert_file ?? parsed.certFile
    const keyFile = tlsBlock?.key_file ?? parsed.keyFile
    const servername = tlsBlock?.servername
    tls = {
      ...(caFile !== undefined && { ca: readPem(caFile, 'ca_file', ctx.repoPath) }),
      ...(certFile !== undefined && { cert: readPem(certFile, 'cert_file', ctx.repoPath) }),
      ...(keyFile !== undefined && { key: readPem(keyFile, 'key_file', ctx.repoPath) }),
      ...(servername !== undefined && { servername }),
      rejectUnauthorized: tlsBlock !== undefined ? tlsBlock.reject_unauthorized : (parsed.rejectUnauthorized ?? true),
      checkHostname: parsed.checkHostname ?? true,
    }
  }
  const description: RedisEndpointDescription = {
    nodes: parsed.nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(', '),
    mode: config.redis_type,
    username: username ?? 'default',
    tls: tls !== undefined,
  }
  return {
    parsed,
    description,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    tls,
    connectTimeoutMs: config.connect_timeout_ms,
    clientName: `morsel:${ctx.project}`,
  }
}

function readPem(file: string, key: string, repoPath: string): Buffer {
  const path = isAbsolute(file) ? file : resolve(repoPath, file)
  try {
    return readFileSync(path)
  } catch (err) {
    throw new MorselError(
      'MORSEL_CONFIG_INVALID',
      `online_store.tls.${key} names ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Paths are relative to the feature repository.`,
      { cause: err },
    )
  }
}

/** Retries quickly at first, then every 2 s, forever: the store recovers by itself when Redis is back. */
function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 2_000) + Math.floor(Math.random() * 100)
}

function socketOptions(s: Settings, host: string, port: number, defaultServername?: string) {
  const base = {
    host,
    port,
    connectTimeout: s.connectTimeoutMs,
    reconnectStrategy: reconnectDelay,
    noDelay: true,
    keepAlive: true,
    keepAliveInitialDelay: 10_000,
  }
  const tls = s.tls
  if (tls === undefined) return { ...base, tls: false as const }
  const servername = tls.servername ?? defaultServername
  return {
    ...base,
    tls: true as const,
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.cert !== undefined && { cert: tls.cert }),
    ...(tls.key !== undefined && { key: tls.key }),
    ...(servername !== undefined && { servername }),
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(!tls.checkHostname && { checkServerIdentity: () => undefined }),
  }
}

/** Options shared by every data connection (not the sentinels'). */
function clientOptions(s: Settings, sink: TrackingInvalidationSink | undefined) {
  return {
    RESP: 3 as const,
    ...(s.username !== undefined && { username: s.username }),
    ...(s.password !== undefined && { password: s.password }),
    name: s.clientName,
    // Fail at once while disconnected instead of queueing work that callers wait on.
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    // A bound on commands waiting for a silent server, so memory cannot grow without limit.
    commandsQueueMaxLength: 250_000,
    // No handshake commands beyond HELLO (and CLIENT TRACKING for the cache), so the documented
    // ACL rule is complete and a restricted user leaves nothing in ACL LOG.
    disableClientInfo: true,
    maintNotifications: 'disabled' as const,
    ...(sink !== undefined && { clientSideCache: sink }),
  }
}

/**
 * Waits until `connect()` succeeds, a definitive error (credentials, certificate, TLS on a plain
 * port) arrives, or the connect timeout passes; node-redis would otherwise keep retrying behind a
 * promise that never settles.
 */
async function connectWithin(
  connect: () => Promise<unknown>,
  destroy: () => unknown,
  emitter: EventEmitter,
  errorEvents: readonly string[],
  s: Settings,
): Promise<void> {
  let lastError: unknown
  await new Promise<void>((resolveConnect, rejectConnect) => {
    let settled = false
    const finish = (err: MorselError | undefined): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const e of errorEvents) emitter.off(e, onError)
      if (err === undefined) resolveConnect()
      else {
        try {
          const destroyed = destroy()
          if (destroyed instanceof Promise) destroyed.catch(() => undefined)
        } catch {
          // Already torn down.
        }
        rejectConnect(err)
      }
    }
    const onError = (err: unknown): void => {
      lastError = err
      if (isDefinitiveConnectError(err)) finish(redisError(err, s.description, 'connecting'))
    }
    for (const e of errorEvents) emitter.on(e, onError)
    const timer = setTimeout(() => {
      const cause =
        lastError !== undefined
          ? ` Last error: ${redisError(lastError, s.description, 'connecting').message}`
          : s.tls !== undefined
            ? ' The TLS handshake never completed: check that this port speaks TLS (a plain-text port never answers the handshake).'
            : ''
      const err =
        lastError !== undefined && isDefinitiveConnectError(lastError)
          ? redisError(lastError, s.description, 'connecting')
          : new MorselError(
              'MORSEL_STORE_UNAVAILABLE',
              `Could not connect to ${s.description.mode === 'redis_cluster' ? 'Redis Cluster' : 'Redis'} at ${s.description.nodes} within ${s.connectTimeoutMs} ms (\`connect_timeout_ms\`).${cause}`,
              { cause: lastError, details: { endpoint: s.description.nodes, mode: s.description.mode } },
            )
      finish(err)
    }, s.connectTimeoutMs)
    connect().then(
      () => finish(undefined),
      (err: unknown) => finish(redisError(err, s.description, 'connecting')),
    )
  })
}

/** What the three node-redis entry points (client, cluster, sentinel) have in common. */
interface Connection {
  readonly isReady: boolean
  readonly isOpen: boolean
  connect(): Promise<unknown>
  close(): Promise<unknown>
  destroy(): unknown
  on(event: string, listener: (err: unknown) => void): unknown
}

/**
 * Holds one node-redis connection object and can replace it. node-redis reconnects by itself when
 * a socket closes; `reset` is for the case it cannot see: a peer that vanished without closing
 * the connection (a replaced host, a network black hole), where replies simply never come.
 */
abstract class ReplaceableTransport<C extends Connection> implements RedisTransport {
  readonly description: RedisEndpointDescription
  lastError: unknown
  resets = 0
  readonly slotBound: boolean = false
  protected current: C
  readonly #create: () => C
  readonly #errorEvents: readonly string[]
  #closed = false

  protected constructor(create: () => C, errorEvents: readonly string[], description: RedisEndpointDescription) {
    this.#create = create
    this.#errorEvents = errorEvents
    this.description = description
    this.current = this.#make()
  }

  #make(): C {
    const c = this.#create()
    const remember = (err: unknown): void => {
      if (c === this.current) this.lastError = err
    }
    for (const e of this.#errorEvents) c.on(e, remember)
    return c
  }

  protected async start(s: Settings): Promise<void> {
    const c = this.current
    await connectWithin(() => c.connect(), () => c.destroy(), c as unknown as EventEmitter, this.#errorEvents, s)
  }

  get ready(): boolean {
    return this.current.isReady
  }

  reset(): void {
    if (this.#closed) return
    const old = this.current
    this.current = this.#make()
    this.resets++
    try {
      const destroyed = old.destroy()
      if (destroyed instanceof Promise) destroyed.catch(() => undefined)
    } catch {
      // Already torn down.
    }
    const fresh = this.current
    fresh.connect().catch((err: unknown) => {
      // Cluster and sentinel give up after a while; keep trying until closed.
      if (this.#closed || fresh !== this.current) return
      this.lastError = err
      setTimeout(() => {
        if (fresh === this.current) this.reset()
      }, 1_000).unref()
    })
  }

  abstract send(commands: ReadonlyArray<readonly RedisArgument[]>, keys: readonly Buffer[], replica: boolean, done: ReplyCallback): void
  abstract masters(): Promise<MasterNode[]>

  async close(): Promise<void> {
    this.#closed = true
    const c = this.current
    if (c.isOpen) {
      await c.close().catch(() => {
        const destroyed = c.destroy()
        if (destroyed instanceof Promise) return destroyed.catch(() => undefined)
        return undefined
      })
    } else {
      const destroyed = c.destroy()
      if (destroyed instanceof Promise) await destroyed.catch(() => undefined)
    }
  }
}

type StandaloneClient = ReturnType<typeof createStandaloneClient>

function createStandaloneClient(s: Settings, sink: TrackingInvalidationSink | undefined) {
  const node = s.parsed.nodes[0]!
  return createClient({
    ...clientOptions(s, sink),
    database: s.parsed.db,
    socket: socketOptions(s, node.host, node.port),
  })
}

class StandaloneTransport extends ReplaceableTransport<StandaloneClient> {
  static async connect(s: Settings, options: TransportOptions): Promise<RedisTransport> {
    const transport = new StandaloneTransport(() => createStandaloneClient(s, options.invalidationSink), ['error'], s.description)
    await transport.start(s)
    return transport
  }

  send(commands: ReadonlyArray<readonly RedisArgument[]>, _keys: readonly Buffer[], _replica: boolean, done: ReplyCallback): void {
    const client = this.current
    for (let i = 0; i < commands.length; i++) {
      client.sendCommand(commands[i]!, COMMAND_OPTIONS).then(
        (reply) => done(i, reply, undefined),
        (err: unknown) => done(i, undefined, err),
      )
    }
  }

  async masters(): Promise<MasterNode[]> {
    const client = this.current
    return [{ address: this.description.nodes, command: (args) => client.sendCommand(args, COMMAND_OPTIONS) }]
  }
}

type Cluster = ReturnType<typeof createClusterClient>

function createClusterClient(s: Settings, config: RedisOnlineStoreConfig, sink: TrackingInvalidationSink | undefined) {
  // Nodes are reached by the addresses CLUSTER SLOTS reports, often IPs; with TLS the certificate
  // is checked against the seed's host name (ElastiCache issues one wildcard for every node).
  const seedHost = s.parsed.nodes[0]!.host
  const servername = isIP(seedHost) === 0 ? seedHost : undefined
  const base = clientOptions(s, undefined)
  return createCluster({
    rootNodes: s.parsed.nodes.map((n) => ({ socket: socketOptions(s, n.host, n.port, servername) })),
    defaults: { ...base, socket: socketOptions(s, seedHost, s.parsed.nodes[0]!.port, servername) },
    RESP: 3,
    commandOptions: { timeout: 0 },
    useReplicas: config.read_from_replicas,
    ...(sink !== undefined && { clientSideCache: sink }),
  })
}

class ClusterTransport extends ReplaceableTransport<Cluster> {
  override readonly slotBound = true
  readonly #replicas: boolean
  #nextReplica = 0

  private constructor(s: Settings, options: TransportOptions) {
    super(() => createClusterClient(s, options.config, options.invalidationSink), ['error', 'node-error'], s.description)
    this.#replicas = options.config.read_from_replicas
  }

  static async connect(s: Settings, options: TransportOptions): Promise<RedisTransport> {
    const transport = new ClusterTransport(s, options)
    await transport.start(s)
    return transport
  }

  send(commands: ReadonlyArray<readonly RedisArgument[]>, keys: readonly Buffer[], replica: boolean, done: ReplyCallback): void {
    const cluster = this.current
    const slots = cluster.slots
    const useReplica = replica && this.#replicas
    for (let i = 0; i < commands.length; i++) {
      const shard = slots[keySlot(keys[i]!)]
      let node = shard?.master
      const replicas = shard?.replicas
      if (useReplica && replicas !== undefined && replicas.length > 0) node = replicas[this.#nextReplica++ % replicas.length]
      const client = node?.client
      if (client === undefined || !client.isReady) {
        this.#viaLibrary(cluster, i, commands[i]!, keys[i]!, useReplica, done)
        continue
      }
      client.sendCommand(commands[i]!, COMMAND_OPTIONS).then(
        (reply) => done(i, reply, undefined),
        (err: unknown) => {
          // The slot moved (resharding, failover): node-redis follows MOVED/ASK and refreshes
          // its slot map on this path.
          if (err instanceof Error && /^(MOVED|ASK) /.test(err.message)) this.#viaLibrary(cluster, i, commands[i]!, keys[i]!, useReplica, done)
          else done(i, undefined, err)
        },
      )
    }
  }

  #viaLibrary(cluster: Cluster, i: number, command: readonly RedisArgument[], key: Buffer, replica: boolean, done: ReplyCallback): void {
    let sent: Promise<unknown>
    try {
      sent = cluster.sendCommand(key, replica, command as RedisArgument[], COMMAND_OPTIONS)
    } catch (err) {
      done(i, undefined, err)
      return
    }
    sent.then(
      (reply) => done(i, reply, undefined),
      (err: unknown) => done(i, undefined, err),
    )
  }

  async masters(): Promise<MasterNode[]> {
    const cluster = this.current
    return Promise.all(
      cluster.masters.map(async (m) => {
        const client = await cluster.nodeClient(m)
        return { address: m.address, command: (args: readonly RedisArgument[]) => client.sendCommand(args, COMMAND_OPTIONS) }
      }),
    )
  }
}

type Sentinel = ReturnType<typeof createSentinelClient>

function createSentinelClient(s: Settings, config: RedisOnlineStoreConfig, sink: TrackingInvalidationSink | undefined) {
  const { clientSideCache: _unused, ...nodeOptions } = clientOptions(s, sink)
  const first = s.parsed.nodes[0]!
  return createSentinel({
    name: config.sentinel_master,
    sentinelRootNodes: s.parsed.nodes.map((n) => ({ host: n.host, port: n.port })),
    nodeClientOptions: { ...nodeOptions, database: s.parsed.db, socket: socketOptions(s, first.host, first.port) },
    sentinelClientOptions: {
      ...(config.sentinel_username !== undefined && { username: config.sentinel_username }),
      ...(config.sentinel_password !== undefined && { password: config.sentinel_password }),
      disableClientInfo: true,
      maintNotifications: 'disabled',
      socket: socketOptions(s, first.host, first.port),
    },
    RESP: 3,
    commandOptions: { timeout: 0 },
    masterPoolSize: 1,
    replicaPoolSize: config.read_from_replicas ? 1 : 0,
    // Failover is followed through the sentinels' pub/sub; a periodic scan also catches changes
    // announced while the sentinel connection was down.
    scanInterval: 10_000,
    passthroughClientErrorEvents: true,
    ...(sink !== undefined && { clientSideCache: sink }),
  })
}

class SentinelTransport extends ReplaceableTransport<Sentinel> {
  static async connect(s: Settings, options: TransportOptions): Promise<RedisTransport> {
    const transport = new SentinelTransport(() => createSentinelClient(s, options.config, options.invalidationSink), ['error'], s.description)
    await transport.start(s)
    return transport
  }

  send(commands: ReadonlyArray<readonly RedisArgument[]>, _keys: readonly Buffer[], replica: boolean, done: ReplyCallback): void {
    const sentinel = this.current
    for (let i = 0; i < commands.length; i++) {
      sentinel.sendCommand(replica, commands[i] as RedisArgument[], COMMAND_OPTIONS).then(
        (reply) => done(i, reply, undefined),
        (err: unknown) => done(i, undefined, err),
      )
    }
  }

  async masters(): Promise<MasterNode[]> {
    const sentinel = this.current
    const master = sentinel.getMasterNode()
    return [
      {
        address: master === undefined ? this.description.nodes : `${master.host}:${master.port}`,
        command: (args) => sentinel.sendCommand(false, args as RedisArgument[], COMMAND_OPTIONS),
      },
    ]
  }
}
