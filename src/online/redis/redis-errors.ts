import { ErrorReply } from 'redis'
import { MorselError } from '../../errors/index.js'

/** What an error message may say about where Morsel was connecting: never a password. */
export interface RedisEndpointDescription {
  /** `host:port` of every seed node, e.g. `10.0.0.5:6379, 10.0.0.6:6379`. */
  readonly nodes: string
  readonly mode: 'redis' | 'redis_cluster' | 'redis_sentinel'
  readonly username: string
  readonly tls: boolean
}

const TLS_TRUST_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
])

/** Errors that say nothing listens there (or no route): a TLS hint would mislead. */
const NOTHING_THERE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function where(d: RedisEndpointDescription): string {
  const kind = d.mode === 'redis_cluster' ? 'Redis Cluster' : d.mode === 'redis_sentinel' ? 'Redis (via Sentinel)' : 'Redis'
  return `${kind} at ${d.nodes}`
}

/** Whether this error is a settled fact about credentials or trust, so retrying cannot help. */
export function isDefinitiveConnectError(err: unknown): boolean {
  const e = unwrap(err)
  const message = e instanceof Error ? e.message : ''
  const code = codeOf(e)
  return (
    /^(WRONGPASS|NOAUTH|NOPERM)/.test(message) ||
    /invalid (username-)?password/i.test(message) ||
    (code !== undefined && TLS_TRUST_CODES.has(code)) ||
    /wrong version number|packet length too long|unknown protocol/i.test(message)
  )
}

function unwrap(err: unknown): unknown {
  // ReconnectStrategyError and friends carry the socket's error as `originalError`/`cause`.
  const inner = (err as { originalError?: unknown; cause?: unknown } | null)?.originalError ?? (err as { cause?: unknown } | null)?.cause
  return inner instanceof Error && !(err instanceof ErrorReply) ? unwrap(inner) : err
}

/**
 * Turns a node-redis or socket error into Morsel's codes: refused credentials and missing ACL
 * rights are MORSEL_STORE_AUTH, anything that means "cannot talk to Redis now" is
 * MORSEL_STORE_UNAVAILABLE, other replies from Redis are MORSEL_STORE_ERROR. Messages name the
 * endpoint and user, never the password.
 */
export function redisError(err: unknown, d: RedisEndpointDescription, doing: string): MorselError {
  if (err instanceof MorselError) return err
  const e = unwrap(err)
  const message = e instanceof Error ? e.message : String(e)
  const code = codeOf(e)
  const details = { endpoint: d.nodes, mode: d.mode }

  if (/^(WRONGPASS|NOAUTH)/.test(message) || /invalid (username-)?password/i.test(message)) {
    return new MorselError(
      'MORSEL_STORE_AUTH',
      `${where(d)} refused the credentials of user '${d.username}' while ${doing}: ${firstLine(message)}. Check \`username\` and \`password\` (or those in \`connection_string\`).`,
      { cause: err, details },
    )
  }
  if (message.startsWith('NOPERM')) {
    const command = /'([^']+)' command/.exec(message)?.[1]
    const what = command !== undefined ? `the command '${command.toUpperCase()}'` : 'a command or key it needs'
    return new MorselError(
      'MORSEL_STORE_AUTH',
      `User '${d.username}' of ${where(d)} may not run ${what} (${firstLine(message)}) while ${doing}. Grant the rule in docs/online-stores/redis.md ("Least-privilege ACL").`,
      { cause: err, details: { ...details, ...(command !== undefined && { command: command.toUpperCase() }) } },
    )
  }
  if (code !== undefined && TLS_TRUST_CODES.has(code)) {
    return new MorselError(
      'MORSEL_STORE_AUTH',
      `Cannot verify the TLS certificate of ${where(d)} (${code}: ${firstLine(message)}). Give the CA that signed it in \`tls.ca_file\`, or the name it was issued to in \`tls.servername\`.`,
      { cause: err, details },
    )
  }
  if (/wrong version number|packet length too long|unknown protocol/i.test(message)) {
    return new MorselError(
      'MORSEL_STORE_UNAVAILABLE',
      `${where(d)} does not answer TLS on this port (${firstLine(message)}): it is a plain-text port. Drop \`tls\`/\`ssl=true\`/rediss://, or use the server's TLS port.`,
      { cause: err, details },
    )
  }
  if (/^(CLUSTERDOWN|LOADING|READONLY|MASTERDOWN|TRYAGAIN)/.test(message)) {
    return new MorselError('MORSEL_STORE_UNAVAILABLE', `${where(d)} cannot serve requests now while ${doing}: ${firstLine(message)}.`, { cause: err, details })
  }
  if (e instanceof ErrorReply) {
    return new MorselError('MORSEL_STORE_ERROR', `${where(d)} answered an error while ${doing}: ${firstLine(message)}`, { cause: err, details })
  }
  // A TLS-only port resets or closes a plain-text connection.
  const nothingThere = code !== undefined && NOTHING_THERE_CODES.has(code)
  const hint = nothingThere || d.tls ? '' : ' If the server only accepts TLS, connect with rediss:// or a `tls` block.'
  return new MorselError(
    'MORSEL_STORE_UNAVAILABLE',
    `Cannot reach ${where(d)} while ${doing}: ${firstLine(message) || (e as Error).constructor?.name || 'connection failed'}.${hint}`,
    { cause: err, details },
  )
}

/** The first line of a driver's message, without any `user:password@` or `password=` it quotes. */
function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? ''
  return line
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@')
    .replace(/\b((?:sentinel_)?password\s*=\s*)[^,\s'"]*/gi, '$1[redacted]')
    .replace(/\.$/, '')
    .trim()
}
