import { z } from 'zod'
import { duckdbConfigFromString, duckdbOfflineStoreConfigSchema } from '../offline/duckdb/duckdb-offline-store-config.js'
import { sqliteConfigFromString, sqliteOnlineStoreConfigSchema } from '../online/sqlite/sqlite-online-store-config.js'
import { redisConfigFromString, redisOnlineStoreConfigSchema } from '../online/redis/redis-online-store-config.js'
import { DEFAULT_FEATURE_SERVER_CONFIG, featureServerConfigSchema, type FeatureServerConfig } from '../server/feature-server-config.js'

/**
 * `feature_store.yaml`, validated once when a repository is opened. Keys are Feast's where Feast
 * has them; every object is strict, so a misspelt key is an error that names it rather than a
 * setting silently ignored.
 */

const ONLINE_FROM_STRING = [sqliteConfigFromString, redisConfigFromString]
const OFFLINE_FROM_STRING = [duckdbConfigFromString]

function fromString(parsers: ReadonlyArray<(s: string) => unknown>) {
  return (v: unknown): unknown => {
    if (typeof v !== 'string') return v
    for (const p of parsers) {
      const parsed = p(v)
      if (parsed !== undefined) return parsed
    }
    return { type: v }
  }
}

export const onlineStoreConfigSchema = z.preprocess(
  fromString(ONLINE_FROM_STRING),
  z.discriminatedUnion('type', [sqliteOnlineStoreConfigSchema, redisOnlineStoreConfigSchema]),
)
export type OnlineStoreConfig = z.infer<typeof onlineStoreConfigSchema>

export const offlineStoreConfigSchema = z.preprocess(
  fromString(OFFLINE_FROM_STRING),
  z.discriminatedUnion('type', [duckdbOfflineStoreConfigSchema]),
)
export type OfflineStoreConfig = z.infer<typeof offlineStoreConfigSchema>

const registryObject = z.strictObject({
  /** Only the file registry exists today; the key is Feast's. */
  registry_type: z.literal('file').default('file'),
  /** The registry file, relative to the repository. */
  path: z.string().min(1),
  /**
   * How often a long-running process (the feature server) re-reads the registry, in seconds;
   * 0 never re-reads. Refreshes happen in the background, never on a request.
   */
  cache_ttl_seconds: z.number().int().min(0).default(60),
})

export const registryConfigSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { path: v } : v),
  registryObject,
)

const materializationSchema = z.strictObject({
  /** Rows per online write batch. */
  online_write_batch_size: z.number().int().positive().default(10_000),
})

export const repoConfigSchema = z.strictObject({
  project: z
    .string()
    // Feast's rule (repo_operations.is_valid_name): word characters and hyphens, not starting with _ or -.
    .regex(/^[\p{L}\p{N}][\p{L}\p{M}\p{N}_-]*$/u, 'use letters, digits, underscores and hyphens, starting with a letter or digit (as Feast does)'),
  project_description: z.string().optional(),
  provider: z.literal('local', { error: 'Morsel runs with `provider: local` (its stores are given by online_store and offline_store)' }).default('local'),
  registry: registryConfigSchema,
  online_store: onlineStoreConfigSchema.default({ type: 'sqlite', path: 'data/online.db' }),
  offline_store: offlineStoreConfigSchema.default({ type: 'duckdb' }),
  entity_key_serialization_version: z.union([z.literal(2), z.literal(3)], { error: 'must be 3 (the default) or 2' }).default(3),
  materialization: materializationSchema.default({ online_write_batch_size: 10_000 }),
  /** `morsel serve`: listening address, TLS, limits, auth and permissions. */
  feature_server: featureServerConfigSchema.default(DEFAULT_FEATURE_SERVER_CONFIG),
})

export type RawRepoConfig = z.infer<typeof repoConfigSchema>

/** The validated configuration, with paths made absolute. Frozen. */
export interface RepoConfig {
  readonly project: string
  readonly projectDescription: string
  readonly provider: 'local'
  /** Absolute path of the feature repository. */
  readonly repoPath: string
  /** Absolute path of feature_store.yaml. */
  readonly configPath: string
  readonly registry: { readonly registryType: 'file'; readonly path: string; readonly cacheTtlSeconds: number }
  readonly onlineStore: OnlineStoreConfig
  readonly offlineStore: OfflineStoreConfig
  readonly entityKeySerializationVersion: 2 | 3
  readonly materialization: { readonly onlineWriteBatchSize: number }
  readonly featureServer: FeatureServerConfig
}
