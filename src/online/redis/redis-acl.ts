/**
 * Every command Morsel sends to a Redis data node, by what needs it: the least-privilege ACL rule
 * the docs give (docs/online-stores/redis.md) is built from this list, and the TLS test runs the
 * whole store with a user holding exactly this rule. HELLO and AUTH need no grant.
 */
export const REDIS_ACL_COMMANDS = {
  /** Reads, writes (the script and what it calls), deletes, health. */
  base: ['hmget', 'hgetall', 'evalsha', 'script|load', 'hget', 'hset', 'expire', 'scan', 'hdel', 'ping', 'info'],
  /** `client_side_cache.enabled`. */
  clientSideCache: ['client|tracking'],
  /** `redis_type: redis_cluster` (slot map, resharding redirects, replica reads). */
  cluster: ['cluster|slots', 'asking', 'readonly'],
  /** A database other than 0 in the connection string. */
  database: ['select'],
} as const

export interface RedisAclOptions {
  readonly clientSideCache?: boolean
  readonly cluster?: boolean
  readonly database?: boolean
}

/** The rule's permissions part: `resetchannels ~* -@all +hmget …`, ready for `ACL SETUSER <name> on >PASSWORD <rule>`. */
export function redisAclRule(options: RedisAclOptions = {}): string {
  const commands: string[] = [...REDIS_ACL_COMMANDS.base]
  if (options.clientSideCache === true) commands.push(...REDIS_ACL_COMMANDS.clientSideCache)
  if (options.cluster === true) commands.push(...REDIS_ACL_COMMANDS.cluster)
  if (options.database === true) commands.push(...REDIS_ACL_COMMANDS.database)
  return ['resetchannels', '~*', '-@all', ...commands.map((c) => `+${c}`)].join(' ')
}
