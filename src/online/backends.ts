import type { OnlineStore, OnlineStoreContext } from './online-store.js'
import type { OnlineStoreConfig } from '../config/repo-config.js'
import { redisTarget } from './redis/redis-online-store-config.js'
import { sqliteTarget } from './sqlite/sqlite-online-store-config.js'

/**
 * The built-in online store backends, by `online_store.type`. Each is loaded only when chosen, so
 * the core never loads a driver it does not use.
 */
export const ONLINE_STORE_BACKENDS: {
  readonly [T in OnlineStoreConfig['type']]: (config: Extract<OnlineStoreConfig, { type: T }>, ctx: OnlineStoreContext) => Promise<OnlineStore>
} = {
  sqlite: async (config, ctx) => (await import('./sqlite/sqlite-online-store.js')).createSqliteOnlineStore(config, ctx),
  redis: async (config, ctx) => (await import('./redis/redis-online-store.js')).createRedisOnlineStore(config, ctx),
}

export async function createOnlineStore(config: OnlineStoreConfig, ctx: OnlineStoreContext): Promise<OnlineStore> {
  // The table's type ties each factory to its own config; indexing by a union loses that link.
  const factory = ONLINE_STORE_BACKENDS[config.type] as (config: OnlineStoreConfig, ctx: OnlineStoreContext) => Promise<OnlineStore>
  return factory(config, ctx)
}

/**
 * Which data an online store config reaches, as a string without secrets (`sqlite:/abs/online.db`,
 * `redis:10.0.0.5:6379/0`). Materialization records it beside each view's windows: windows loaded
 * into one store say nothing about another, so a switch of store starts the view over.
 */
export function onlineStoreTarget(config: OnlineStoreConfig, repoPath: string): string {
  return config.type === 'sqlite' ? sqliteTarget(config, repoPath) : redisTarget(config)
}
