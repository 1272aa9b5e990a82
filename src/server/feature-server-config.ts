import { createHash } from 'node:crypto'
import { isAbsolute, resolve } from 'node:path'
import { z } from 'zod'
import { consoleConfigSchema, serverAppsSchema, type ConsoleConfig, type ServerAppConfig } from './apps/server-app-config.js'

/**
 * The `feature_server` section of feature_store.yaml: where `morsel serve` listens, its limits,
 * who may call it and what each caller may do. Only this schema lives here (no server code), so
 * the config loader can validate the section without loading Fastify.
 */

export const SERVER_ACTIONS = ['read_online', 'write_online', 'write_offline', 'materialize'] as const
export type ServerAction = (typeof SERVER_ACTIONS)[number]

const pattern = z.string().min(1)

const apiKeySchema = z
  .strictObject({
    /** Who the key belongs to; permissions name it in `principals`. */
    principal: z.string().min(1),
    /** The key itself, normally as `${ENV_VAR}` so it never sits in the file. */
    key: z.string().min(16, 'an API key needs at least 16 characters').optional(),
    /** Or only its SHA-256, hex: `printf %s "$KEY" | sha256sum`. */
    key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex digits of a SHA-256')
      .optional(),
    roles: z.array(z.string().min(1)).default([]),
  })
  .refine((k) => (k.key === undefined) !== (k.key_sha256 === undefined), { message: 'give exactly one of `key` and `key_sha256`' })

const jwtSchema = z
  .strictObject({
    algorithms: z.array(z.enum(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'PS256'])).min(1).default(['RS256']),
    /** The HMAC secret for HS* tokens, normally `${ENV_VAR}`. */
    secret: z.string().min(32, 'an HMAC secret needs at least 32 characters').optional(),
    /** A PEM public key (SPKI) for RS*, ES* and PS* tokens, relative to the repository. */
    public_key_file: z.string().min(1).optional(),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    /** The claim naming the principal. */
    principal_claim: z.string().min(1).default('sub'),
    /** The claim listing the principal's roles (an array or a space-separated string). */
    roles_claim: z.string().min(1).default('roles'),
    /** When a token carries this claim, it must name this project (a string or an array). */
    project_claim: z.string().min(1).default('project'),
    clock_tolerance_seconds: z.number().int().min(0).default(30),
  })
  .refine((j) => (j.secret === undefined) !== (j.public_key_file === undefined), {
    message: 'give exactly one of `secret` (HS* algorithms) and `public_key_file` (RS*, ES*, PS*)',
  })
  .refine((j) => j.algorithms.every((a) => a.startsWith('HS')) === (j.secret !== undefined), {
    message: '`secret` goes with HS* algorithms only, `public_key_file` with RS*, ES* and PS* only',
  })

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('api_key'), api_keys: z.array(apiKeySchema).min(1) }),
  z.strictObject({ type: z.literal('jwt'), jwt: jwtSchema }),
])

const permissionSchema = z.strictObject({
  name: z.string().min(1),
  /** Principal name patterns (`*` matches any run of characters). */
  principals: z.array(pattern).optional(),
  /** Roles, any of which grants the permission. */
  roles: z.array(z.string().min(1)).optional(),
  actions: z.array(z.enum(SERVER_ACTIONS)).min(1),
  /**
   * What the permission covers. Omitted: everything in every project. With `feature_views` or
   * `feature_services`, only objects of the kinds listed, by name pattern.
   */
  resources: z
    .strictObject({
      projects: z.array(pattern).optional(),
      feature_views: z.array(pattern).optional(),
      feature_services: z.array(pattern).optional(),
    })
    .default({}),
})

const limitsSchema = z.strictObject({
  /** Largest request body accepted; larger ones get 413. */
  max_body_bytes: z.number().int().min(1024).default(1_048_576),
  /** Most entity rows one `/get-online-features` request may ask for. */
  max_entities_per_request: z.number().int().min(1).default(1000),
  /** Most rows one `/push` or `/write-to-online-store` request may carry. */
  max_rows_per_write: z.number().int().min(1).default(10_000),
  /** Deadline of a read, push or write request; past it the answer is 504. */
  request_timeout_ms: z.number().int().min(1).default(5000),
  /**
   * How long a client may take to send a whole request (TLS handshake, headers and body); a slower
   * one (slowloris) gets 408 and its connection is closed.
   */
  client_timeout_ms: z.number().int().min(100).default(10_000),
  /** How long an idle keep-alive connection is kept open between requests. */
  keep_alive_timeout_ms: z.number().int().min(1).default(72_000),
})

export const featureServerConfigSchema = z.strictObject({
  /** Feast's key; only `local` exists here. */
  type: z.literal('local').optional(),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(6566),
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  limits: limitsSchema.default(limitsSchema.parse({})),
  /** How long shutdown waits for in-flight requests and running materializations. */
  shutdown_timeout_ms: z.number().int().min(0).default(10_000),
  auth: authSchema.default({ type: 'none' }),
  permissions: z.array(permissionSchema).optional(),
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** How often the online store's own figures (Redis INFO) are sampled. */
      store_stats_interval_seconds: z.number().int().min(1).default(15),
    })
    .default({ enabled: true, store_stats_interval_seconds: 15 }),
  /** The read-only console at `/console/` (docs/console.md). */
  console: consoleConfigSchema,
  /** Pages and endpoints the repository adds, each under its own path (docs/console.md). */
  apps: serverAppsSchema,
})

export type RawFeatureServerConfig = z.infer<typeof featureServerConfigSchema>

export interface ApiKeyEntry {
  readonly principal: string
  /** SHA-256 of the key, lower-case hex. The key itself is not kept. */
  readonly keySha256: string
  readonly roles: readonly string[]
}

export interface JwtConfig {
  readonly algorithms: readonly string[]
  readonly secret?: string
  readonly publicKeyFile?: string
  readonly issuer: string
  readonly audience: string
  readonly principalClaim: string
  readonly rolesClaim: string
  readonly projectClaim: string
  readonly clockToleranceSeconds: number
}

export type AuthConfig =
  | { readonly type: 'none' }
  | { readonly type: 'api_key'; readonly apiKeys: readonly ApiKeyEntry[] }
  | { readonly type: 'jwt'; readonly jwt: JwtConfig }

export interface PermissionConfig {
  readonly name: string
  readonly principals?: readonly string[]
  readonly roles?: readonly string[]
  readonly actions: readonly ServerAction[]
  readonly resources: {
    readonly projects?: readonly string[]
    readonly featureViews?: readonly string[]
    readonly featureServices?: readonly string[]
  }
}

export interface ServerLimits {
  readonly maxBodyBytes: number
  readonly maxEntitiesPerRequest: number
  readonly maxRowsPerWrite: number
  readonly requestTimeoutMs: number
  readonly clientTimeoutMs: number
  readonly keepAliveTimeoutMs: number
}

export interface FeatureServerConfig {
  readonly host: string
  readonly port: number
  /** Absolute paths. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string }
  readonly limits: ServerLimits
  readonly shutdownTimeoutMs: number
  readonly auth: AuthConfig
  /** Undefined: every authenticated caller may do everything. */
  readonly permissions?: readonly PermissionConfig[]
  readonly metrics: { readonly enabled: boolean; readonly storeStatsIntervalSeconds: number }
  /** Default: enabled, sampled every second, ten minutes kept. */
  readonly console?: ConsoleConfig
  /** Default: none. */
  readonly apps?: readonly ServerAppConfig[]
}

export const DEFAULT_FEATURE_SERVER_CONFIG: RawFeatureServerConfig = featureServerConfigSchema.parse({})

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** The validated section in Morsel's runtime form: paths absolute, keys hashed. */
export function resolveFeatureServerConfig(raw: RawFeatureServerConfig, repoPath: string): FeatureServerConfig {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(repoPath, p))
  const auth: AuthConfig =
    raw.auth.type === 'none'
      ? { type: 'none' }
      : raw.auth.type === 'api_key'
        ? {
            type: 'api_key',
            apiKeys: raw.auth.api_keys.map((k) => ({
              principal: k.principal,
              keySha256: k.key_sha256 !== undefined ? k.key_sha256.toLowerCase() : sha256Hex(k.key ?? ''),
              roles: k.roles,
            })),
          }
        : {
            type: 'jwt',
            jwt: {
              algorithms: raw.auth.jwt.algorithms,
              ...(raw.auth.jwt.secret !== undefined && { secret: raw.auth.jwt.secret }),
              ...(raw.auth.jwt.public_key_file !== undefined && { publicKeyFile: abs(raw.auth.jwt.public_key_file) }),
              issuer: raw.auth.jwt.issuer,
              audience: raw.auth.jwt.audience,
              principalClaim: raw.auth.jwt.principal_claim,
              rolesClaim: raw.auth.jwt.roles_claim,
              projectClaim: raw.auth.jwt.project_claim,
              clockToleranceSeconds: raw.auth.jwt.clock_tolerance_seconds,
            },
          }
  return {
    host: raw.host,
    port: raw.port,
    ...(raw.tls !== undefined && { tls: { certFile: abs(raw.tls.cert_file), keyFile: abs(raw.tls.key_file) } }),
    limits: {
      maxBodyBytes: raw.limits.max_body_bytes,
      maxEntitiesPerRequest: raw.limits.max_entities_per_request,
      maxRowsPerWrite: raw.limits.max_rows_per_write,
      requestTimeoutMs: raw.limits.request_timeout_ms,
      clientTimeoutMs: raw.limits.client_timeout_ms,
      keepAliveTimeoutMs: raw.limits.keep_alive_timeout_ms,
    },
    shutdownTimeoutMs: raw.shutdown_timeout_ms,
    auth,
    ...(raw.permissions !== undefined && {
      permissions: raw.permissions.map((p) => ({
        name: p.name,
        ...(p.principals !== undefined && { principals: p.principals }),
        ...(p.roles !== undefined && { roles: p.roles }),
        actions: p.actions,
        resources: {
          ...(p.resources.projects !== undefined && { projects: p.resources.projects }),
          ...(p.resources.feature_views !== undefined && { featureViews: p.resources.feature_views }),
          ...(p.resources.feature_services !== undefined && { featureServices: p.resources.feature_services }),
        },
      })),
    }),
    metrics: { enabled: raw.metrics.enabled, storeStatsIntervalSeconds: raw.metrics.store_stats_interval_seconds },
    console: { enabled: raw.console.enabled, sampleIntervalMs: raw.console.sample_interval_ms, historySeconds: raw.console.history_seconds },
    apps: raw.apps.map((a) => ({ path: a.path, module: abs(a.module), options: a.options })),
  }
}
