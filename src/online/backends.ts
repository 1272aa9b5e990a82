import type { OnlineStore, OnlineStoreContext } from './online-store.js'
import type { OnlineStoreConfig } from '../config/repo-config.js'

/**
 * The built-in online store backends, by `online_store.type`. Each is loaded only when chosen, so
 * the core never loads a driver it does not use.
 */
export const ONLINE_STORE_BACKENDS: {
  readonly [T in OnlineStoreConfig['type']]: (config: Extract<OnlineStoreConfig, { type: T }>, ctx: OnlineStoreContext) => Promise<OnlineStore>
} = {
  sqlite: async (config, ctx) => (await import('./sqlite/sqlite-online-store.js')).createSqliteOnlineStore(config, ctx),
}

export async function createOnlineStore(config: OnlineStoreConfig, ctx: OnlineStoreContext): Promise<OnlineStore> {
  const factory = ONLINE_STORE_BACKENDS[config.type]
  return factory(config, ctx)
}
