import { isAbsolute, resolve } from 'node:path'
import { z } from 'zod'

/** `online_store: { type: sqlite, path }`: the embedded store, one file beside the repository. */
export const sqliteOnlineStoreConfigSchema = z.strictObject({
  type: z.literal('sqlite'),
  /** The database file, relative to the feature repository. */
  path: z.string().min(1).default('data/online.db'),
})

export type SqliteOnlineStoreConfig = z.infer<typeof sqliteOnlineStoreConfigSchema>

/** Short forms accepted where a config object is expected: `sqlite` and `sqlite:PATH`. */
export function sqliteConfigFromString(s: string): unknown {
  if (s === 'sqlite') return { type: 'sqlite' }
  if (s.startsWith('sqlite:')) return { type: 'sqlite', path: s.slice('sqlite:'.length) }
  return undefined
}

/** Which data the store holds, for telling stores apart: the database file's absolute path. */
export function sqliteTarget(config: SqliteOnlineStoreConfig, repoPath: string): string {
  if (config.path === ':memory:') return 'sqlite::memory:'
  return `sqlite:${isAbsolute(config.path) ? config.path : resolve(repoPath, config.path)}`
}
