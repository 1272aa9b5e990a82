import type { OfflineStoreConfig } from '../config/repo-config.js'
import type { OfflineStore, OfflineStoreContext } from './offline-store.js'

/** The built-in offline store backends, by `offline_store.type`, each loaded only when chosen. */
export const OFFLINE_STORE_BACKENDS: {
  readonly [T in OfflineStoreConfig['type']]: (config: Extract<OfflineStoreConfig, { type: T }>, ctx: OfflineStoreContext) => Promise<OfflineStore>
} = {
  duckdb: async (config, ctx) => (await import('./duckdb/duckdb-offline-store.js')).createDuckdbOfflineStore(config, ctx),
}

export async function createOfflineStore(config: OfflineStoreConfig, ctx: OfflineStoreContext): Promise<OfflineStore> {
  const factory = OFFLINE_STORE_BACKENDS[config.type]
  return factory(config, ctx)
}
