import { z } from 'zod'

/** `offline_store: { type: duckdb }`: DuckDB in process, over the Parquet and CSV sources. */
export const duckdbOfflineStoreConfigSchema = z.strictObject({
  type: z.literal('duckdb'),
  /** Memory DuckDB may use for joins before it spills to disk, e.g. `2GB`. */
  memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i).optional(),
  /** Worker threads; default: one per core. */
  threads: z.number().int().positive().optional(),
  /** Where DuckDB spills, relative to the repository; default: DuckDB's own choice. */
  temp_directory: z.string().optional(),
})

export type DuckdbOfflineStoreConfig = z.infer<typeof duckdbOfflineStoreConfigSchema>

export function duckdbConfigFromString(s: string): unknown {
  return s === 'duckdb' ? { type: 'duckdb' } : undefined
}
