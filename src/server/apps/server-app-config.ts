import { z } from 'zod'

/**
 * `feature_server.apps` of feature_store.yaml: pages and endpoints a repository adds to its
 * feature server, each under its own URL prefix. Only the schema lives here, so that the config
 * loader validates it without loading Fastify.
 */

/** Prefixes the server itself answers under; an app may not take them. */
export const RESERVED_APP_PATHS = [
  '/console',
  '/get-online-features',
  '/push',
  '/write-to-online-store',
  '/materialize',
  '/materialize-incremental',
  '/health',
  '/ready',
  '/metrics',
] as const

const APP_PATH = /^(\/[A-Za-z0-9][A-Za-z0-9._~-]*)+$/

const serverAppSchema = z.strictObject({
  /** The URL prefix the app answers under, e.g. `/loan` (its page at `/loan/`). */
  path: z.string().regex(APP_PATH, 'must be a URL path such as `/loan`: segments of letters, digits, `.`, `_`, `~` or `-`, each after a slash, no trailing slash'),
  /** The TypeScript or JavaScript module exporting `registerApp`, relative to the repository. */
  module: z.string().min(1),
  /** Handed to the app as they are. */
  options: z.record(z.string(), z.unknown()).default({}),
})

export const serverAppsSchema = z
  .array(serverAppSchema)
  .default([])
  .superRefine((apps, ctx) => {
    const seen = new Set<string>()
    apps.forEach((app, i) => {
      const first = `/${app.path.split('/')[1] ?? ''}`.toLowerCase()
      if ((RESERVED_APP_PATHS as readonly string[]).includes(first)) {
        ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `${app.path} is under ${first}, which the feature server answers itself; choose another prefix` })
      }
      const key = app.path.toLowerCase()
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `${app.path} is given twice; each app needs its own prefix` })
      seen.add(key)
    })
  })

export type RawServerAppConfig = z.infer<typeof serverAppSchema>

/** One app in Morsel's runtime form. */
export interface ServerAppConfig {
  readonly path: string
  /** Absolute path of the module. */
  readonly module: string
  readonly options: Readonly<Record<string, unknown>>
}

export const consoleConfigSchema = z
  .strictObject({
    /** Serve the console at `/console/` and its read-only API at `/console/api/`. */
    enabled: z.boolean().default(true),
    /** How often the console's charts sample the server's metrics, in milliseconds. */
    sample_interval_ms: z.number().int().min(100).max(60_000).default(1000),
    /** How much history the charts keep, in seconds. */
    history_seconds: z.number().int().min(10).max(86_400).default(600),
  })
  .default({ enabled: true, sample_interval_ms: 1000, history_seconds: 600 })

export interface ConsoleConfig {
  readonly enabled: boolean
  readonly sampleIntervalMs: number
  readonly historySeconds: number
}

export const DEFAULT_CONSOLE_CONFIG: ConsoleConfig = { enabled: true, sampleIntervalMs: 1000, historySeconds: 600 }
