import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadRepoConfig } from 'morsel'
import { startFeatureServer, type RunningFeatureServer } from 'morsel/server'

/** The loan page's server app, by absolute path: it serves any copy of the repository. */
export const LOAN_APP_MODULE = fileURLToPath(new URL('./loan-app.ts', import.meta.url))
/** The pages `npm run build` makes with Vite: the loan page, and Morsel's console (in the package's dist/). */
const PAGES = [
  { name: 'the loan page (app/web)', config: fileURLToPath(new URL('./web/vite.config.ts', import.meta.url)), index: fileURLToPath(new URL('./web/dist/index.html', import.meta.url)) },
  { name: "Morsel's console", config: fileURLToPath(new URL('../../../console/vite.config.ts', import.meta.url)), index: fileURLToPath(new URL('../../../dist/console/index.html', import.meta.url)) },
]

export interface ServeExampleOptions {
  readonly repoPath: string
  /** Default: `feature_server.port` (6566); 0 picks a free port. */
  readonly port?: number
  readonly host?: string
  readonly log: (line: string) => void
}

/** Builds the pages with Vite when `npm run build` has not (only the TypeScript was compiled). */
export async function ensurePages(log: (line: string) => void): Promise<void> {
  for (const page of PAGES) {
    if (existsSync(page.index) || !existsSync(page.config)) continue
    const t0 = performance.now()
    const { build } = await import('vite')
    await build({ configFile: page.config, logLevel: 'warn' })
    log(`      Built ${page.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
}

/**
 * The feature server of the repository, as `morsel serve` runs it, with the console and the loan
 * page: the quickstart's last step, serving until Ctrl+C (SIGINT) or SIGTERM.
 */
export async function serveExample(options: ServeExampleOptions): Promise<RunningFeatureServer> {
  await ensurePages(options.log)
  const config = loadRepoConfig({ repoPath: options.repoPath })
  const server = await startFeatureServer({
    config: {
      ...config,
      featureServer: { ...config.featureServer, apps: [{ path: '/loan', module: LOAN_APP_MODULE, options: {} }] },
    },
    ...(options.port !== undefined && { port: options.port }),
    ...(options.host !== undefined && { host: options.host }),
    // Problems only: one log line per request would bury the URLs.
    logLevel: 'warn',
  })
  const { base } = server.urls
  options.log(`Serving project ${server.store.project} on ${base} (Ctrl+C stops):`)
  options.log(`  Loan application   ${base}/loan/`)
  options.log(`  Console            ${base}/console/`)
  options.log(`  Feature API        POST ${server.urls.getOnlineFeatures}   GET ${server.urls.metrics}`)
  return server
}
