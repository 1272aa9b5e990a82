import { z } from 'zod'

/**
 * `online_store: { type: redis, … }`: Feast's keys (`redis_type`, `connection_string`,
 * `sentinel_master`, `key_ttl_seconds`) plus Morsel's TLS, credentials, timeouts, replica reads and
 * the client-side cache. `connection_string` takes Feast's form
 * (`host:port,ssl=true,password=…,username=…,db=0`, several `host:port` seeds for a cluster or
 * sentinel) or URLs (`redis://user:pass@host:port/db`, `rediss://…`, several separated by commas).
 */

const tlsSchema = z.strictObject({
  /** TLS is on when this block is present, unless `enabled: false`. */
  enabled: z.boolean().default(true),
  /** PEM file of the CA that signed the server certificate (relative to the repository). */
  ca_file: z.string().min(1).optional(),
  /** PEM client certificate and key, for servers that require mutual TLS. */
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** Name checked against the server certificate (SNI), when it differs from the host connected to. */
  servername: z.string().min(1).optional(),
  /** `false` accepts any server certificate: for tests only, it gives up protection against interception. */
  reject_unauthorized: z.boolean().default(true),
})

const clientSideCacheSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Entities kept in memory; the least recently read are dropped first. */
  max_entries: z.number().int().positive().default(10_000),
  /** An upper bound on how long an entry is served, in seconds; 0 keeps it until Redis invalidates it. */
  ttl_seconds: z.number().min(0).default(0),
})

export const redisOnlineStoreConfigSchema = z
  .strictObject({
    type: z.literal('redis'),
    redis_type: z.enum(['redis', 'redis_cluster', 'redis_sentinel']).default('redis'),
    connection_string: z.string().min(1).default('localhost:6379'),
    /** The master name sentinels know the deployment by. */
    sentinel_master: z.string().min(1).default('mymaster'),
    /** Credentials of the sentinels themselves, when they require AUTH (they rarely share the data nodes'). */
    sentinel_username: z.string().min(1).optional(),
    sentinel_password: z.string().optional(),
    /** EXPIRE set on an entity's hash after every write that changed it (Feast's semantics). */
    key_ttl_seconds: z.number().int().positive().nullish(),
    /** ACL user; overrides one given in `connection_string`. */
    username: z.string().min(1).optional(),
    /** Password; overrides one given in `connection_string`. Never logged. */
    password: z.string().optional(),
    tls: tlsSchema.optional(),
    connect_timeout_ms: z.number().int().positive().default(5_000),
    /** How long Redis may stay silent on a pending operation before it fails. */
    command_timeout_ms: z.number().int().positive().default(1_000),
    /** Cluster and sentinel only: serve reads from replicas, which may lag the master. */
    read_from_replicas: z.boolean().default(false),
    client_side_cache: clientSideCacheSchema.optional(),
  })
  .superRefine((config, ctx) => {
    const parsed = parseConnectionString(config.connection_string)
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', path: ['connection_string'], message: parsed })
      return
    }
    if (config.redis_type === 'redis' && parsed.nodes.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['connection_string'],
        message: `lists ${parsed.nodes.length} nodes, but \`redis_type: redis\` connects to one; set \`redis_type: redis_cluster\` (or redis_sentinel) or give one host:port`,
      })
    }
    if (config.redis_type === 'redis_cluster' && parsed.db !== 0) {
      ctx.addIssue({ code: 'custom', path: ['connection_string'], message: 'selects a database, but Redis Cluster only has database 0' })
    }
    if (config.read_from_replicas && config.redis_type === 'redis') {
      ctx.addIssue({
        code: 'custom',
        path: ['read_from_replicas'],
        message: 'needs `redis_type: redis_cluster` or `redis_sentinel`, which know the replicas of the master',
      })
    }
    const tls = config.tls
    if (tls !== undefined && (tls.cert_file === undefined) !== (tls.key_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'give `cert_file` and `key_file` together (a client certificate needs its key)' })
    }
  })

export type RedisOnlineStoreConfig = z.infer<typeof redisOnlineStoreConfigSchema>

/**
 * Which data the store holds, for telling stores apart, without credentials: the deployment kind,
 * its nodes (sorted: a cluster named by other seeds is the same cluster only if they are listed
 * alike, which is the best a config can say) and the database.
 */
export function redisTarget(config: RedisOnlineStoreConfig): string {
  const parsed = parseConnectionString(config.connection_string)
  // The schema refused an unparseable string; this keeps the function total.
  if (typeof parsed === 'string') return `${config.redis_type}:?`
  const nodes = parsed.nodes.map((n) => `${n.host}:${n.port}`).sort()
  const master = config.redis_type === 'redis_sentinel' ? `/${config.sentinel_master}` : ''
  return `${config.redis_type}:${nodes.join(',')}${master}/${parsed.db}`
}

/** Short forms accepted where a config object is expected: a `redis://` or `rediss://` URL. */
export function redisConfigFromString(s: string): unknown {
  if (/^rediss?:\/\//i.test(s)) return { type: 'redis', connection_string: s }
  return undefined
}

export interface RedisNodeAddress {
  readonly host: string
  readonly port: number
}

/** What a connection string says, in Morsel's terms. */
export interface ParsedConnection {
  readonly nodes: readonly RedisNodeAddress[]
  readonly tls: boolean
  readonly username?: string
  readonly password?: string
  readonly db: number
  /** TLS settings given as redis-py keywords in Feast's form. */
  readonly caFile?: string
  readonly certFile?: string
  readonly keyFile?: string
  readonly rejectUnauthorized?: boolean
  readonly checkHostname?: boolean
}

const FEAST_OPTIONS = ['ssl', 'password', 'username', 'db', 'ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile', 'ssl_cert_reqs', 'ssl_check_hostname']

/**
 * Parses `connection_string`, returning a problem description (never containing a secret) when it
 * cannot be used.
 */
export function parseConnectionString(s: string): ParsedConnection | string {
  const text = s.trim()
  if (/^rediss?:\/\//i.test(text)) return parseUrls(text)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return `has the scheme '${text.slice(0, text.indexOf(':'))}'; use redis:// or rediss:// (TLS), or Feast's form host:port,ssl=true`
  }
  return parseFeastForm(text)
}

function parseUrls(text: string): ParsedConnection | string {
  // Split only at commas that start another URL, so a comma inside a password stays in it.
  const parts = text.split(/,\s*(?=rediss?:\/\/)/i)
  const nodes: RedisNodeAddress[] = []
  let first: { tls: boolean; username?: string; password?: string; db: number } | undefined
  for (const [i, part] of parts.entries()) {
    let url: URL
    try {
      url = new URL(part)
    } catch {
      return `URL ${i + 1} is not a valid URL (percent-encode special characters in the password, e.g. '@' as %40)`
    }
    const tls = url.protocol.toLowerCase() === 'rediss:'
    if (url.hostname === '') return `URL ${i + 1} has no host`
    const port = url.port === '' ? 6379 : Number(url.port)
    const path = url.pathname.replace(/^\//, '')
    if (path !== '' && !/^\d+$/.test(path)) return `URL ${i + 1} has the path '/${path}'; the only path a Redis URL takes is a database number`
    const db = path === '' ? 0 : Number(path)
    for (const key of url.searchParams.keys()) {
      return `URL ${i + 1} has the query parameter '${key}', which Morsel does not read; use the online_store keys (tls, username, password …) instead`
    }
    const username = url.username === '' ? undefined : decodeURIComponent(url.username)
    const password = url.password === '' ? undefined : decodeURIComponent(url.password)
    const current = { tls, db, ...(username !== undefined && { username }), ...(password !== undefined && { password }) }
    if (first === undefined) first = current
    else if (first.tls !== tls || first.db !== db || first.username !== username || first.password !== password) {
      return 'lists URLs that differ in scheme, credentials or database; every node of one deployment takes the same ones'
    }
    nodes.push({ host: stripBrackets(url.hostname), port })
  }
  return { nodes, ...first!, db: first!.db }
}

function parseFeastForm(text: string): ParsedConnection | string {
  const nodes: RedisNodeAddress[] = []
  const options = new Map<string, string>()
  // Entries after a password may be pieces of it (a password holding a comma), so messages name
  // entries by position and never quote them once a password was seen.
  let afterPassword = false
  for (const [i, raw] of text.split(',').entries()) {
    const token = raw.trim()
    if (token === '') continue
    const eq = token.indexOf('=')
    if (eq !== -1) {
      const key = token.slice(0, eq).trim()
      if (!FEAST_OPTIONS.includes(key)) {
        const named = !afterPassword && /^[a-z_]{1,40}$/i.test(key) ? `the option '${key}'` : `an unknown option in entry ${i + 1}`
        return `has ${named}; known options: ${FEAST_OPTIONS.join(', ')} (a password containing ',' must go in the \`password\` key or a URL)`
      }
      if (key === 'password') afterPassword = true
      options.set(key, token.slice(eq + 1).trim())
      continue
    }
    const address = parseAddress(token, i + 1, afterPassword)
    if (typeof address === 'string') return address
    nodes.push(address)
  }
  if (nodes.length === 0) return 'names no host:port'
  const bool = (key: string): boolean | string | undefined => {
    const v = options.get(key)
    if (v === undefined) return undefined
    if (/^(true|1|yes)$/i.test(v)) return true
    if (/^(false|0|no)$/i.test(v)) return false
    return `has ${key}=… that is not true or false`
  }
  const ssl = bool('ssl')
  if (typeof ssl === 'string') return ssl
  const checkHostname = bool('ssl_check_hostname')
  if (typeof checkHostname === 'string') return checkHostname
  let db = 0
  const dbText = options.get('db')
  if (dbText !== undefined) {
    if (!/^\d+$/.test(dbText)) return 'has db=… that is not a database number'
    db = Number(dbText)
  }
  let rejectUnauthorized: boolean | undefined
  const reqs = options.get('ssl_cert_reqs')
  if (reqs !== undefined) {
    if (/^(none|cert_none)$/i.test(reqs)) rejectUnauthorized = false
    else if (/^(required|cert_required)$/i.test(reqs)) rejectUnauthorized = true
    else return 'has ssl_cert_reqs=… other than none or required'
  }
  const password = options.get('password')
  const username = options.get('username')
  const caFile = options.get('ssl_ca_certs')
  const certFile = options.get('ssl_certfile')
  const keyFile = options.get('ssl_keyfile')
  return {
    nodes,
    tls: ssl === true,
    db,
    ...(username !== undefined && username !== '' && { username }),
    ...(password !== undefined && { password }),
    ...(caFile !== undefined && { caFile }),
    ...(certFile !== undefined && { certFile }),
    ...(keyFile !== undefined && { keyFile }),
    ...(rejectUnauthorized !== undefined && { rejectUnauthorized }),
    ...(typeof checkHostname === 'boolean' && { checkHostname }),
  }
}

function parseAddress(token: string, entry: number, secretAround: boolean): RedisNodeAddress | string {
  // [v6]:port, host:port, or a bare host (port 6379).
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(token)
  const colons = token.split(':').length - 1
  let host: string
  let port: string | undefined
  if (bracketed !== null) {
    host = bracketed[1]!
    port = bracketed[2]
  } else if (colons <= 1) {
    const parts = token.split(':')
    host = parts[0]!
    port = parts[1]
  } else {
    return `has entry ${entry} that is neither host:port nor an option; write IPv6 addresses as [addr]:port`
  }
  const where = secretAround ? `entry ${entry}` : `'${token}'`
  if (host === '') return `has ${where} without a host`
  if (port === undefined) return { host, port: 6379 }
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `has ${where}, whose port is not a port number`
  return { host, port: Number(port) }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}
