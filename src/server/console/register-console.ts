import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { MorselError } from '../../errors/index.js'
import { serveBuiltPage } from '../apps/serve-built-page.js'
import { DEFAULT_CONSOLE_CONFIG } from '../apps/server-app-config.js'
import { principalOf, type ServerContext } from '../server-context.js'
import type { ConsoleOverview } from './console-types.js'
import { lookupEntity } from './entity-lookup.js'
import { MetricsSampler } from './metrics-sampler.js'
import { registryCatalog } from './registry-catalog.js'
import { viewFreshness } from './view-freshness.js'

/**
 * The built console (`npm run build` writes it there). The same path from src/server/console and
 * from dist/server/console: three levels up is the package root.
 */
export const CONSOLE_ASSETS_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url))

/** What the console's page may load: only its own files and API (no CDN, nothing inline but styles). */

/**
 * The console: a read-only page at `/console/` over the registry, the freshness of online values,
 * live charts of the server's metrics and a lookup of one entity's online features; its JSON API
 * at `/console/api/`. The page's files need no credentials (they hold no data); every API call
 * goes through the server's access control, and a lookup needs `read_online` on each view read.
 */
export function registerConsole(app: FastifyInstance, ctx: ServerContext): void {
  const config = ctx.config.console ?? DEFAULT_CONSOLE_CONFIG
  if (!config.enabled) return
  const { store, metrics, health } = ctx
  const sampler = new MetricsSampler(metrics.registry, {
    intervalMs: config.sampleIntervalMs,
    historySeconds: config.historySeconds,
    storeType: store.config.onlineStore.type,
    storeStatsIntervalSeconds: ctx.config.metrics.storeStatsIntervalSeconds,
    metricsEnabled: ctx.config.metrics.enabled,
  })
  const startedAt = new Date().toISOString()
  app.addHook('onReady', async () => sampler.start())
  app.addHook('onClose', async () => sampler.stop())
  const snapshot = async () => store.registry.current() ?? (await store.registry.snapshot())
  const onRequest = ctx.authHooks

  void app.register(async (scope) => {
    scope.get('/console/api/overview', { onRequest }, async (request): Promise<ConsoleOverview> => {
      const snap = await snapshot()
      const last = health.last
      return {
        project: store.project,
        description: snap.state?.description ?? store.config.projectDescription,
        registryVersion: snap.version,
        registryUpdated: snap.state?.lastUpdatedTimestamp ?? null,
        onlineStore: { type: store.config.onlineStore.type, ok: last?.ok ?? null, detail: last?.detail ?? null, checkedLatencyMs: last?.latencyMs ?? null },
        offlineStore: store.config.offlineStore.type,
        auth: ctx.authenticator.type,
        principal: principalOf(request).name,
        counts: {
          entities: snap.entities.size,
          featureViews: snap.featureViews.size,
          onDemandFeatureViews: snap.onDemandFeatureViews.size,
          featureServices: snap.featureServices.size,
          dataSources: snap.dataSources.size,
        },
        serverStartedAt: startedAt,
        sampleIntervalMs: sampler.intervalMs,
        apps: (ctx.config.apps ?? []).map((a) => a.path),
      }
    })

    scope.get('/console/api/registry', { onRequest }, async () => registryCatalog(await snapshot()))

    scope.get('/console/api/freshness', { onRequest }, async () => viewFreshness(metrics.registry, await snapshot()))

    scope.get('/console/api/timeseries', { onRequest }, async () => sampler.series())

    scope.get('/console/api/lookup', { onRequest }, async (request) => {
      const given: Record<string, string> = {}
      for (const [k, v] of Object.entries(request.query as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new MorselError('MORSEL_REQUEST_INVALID', `Give join key '${k}' once.`)
        given[k] = v
      }
      const principal = principalOf(request)
      await store.onlineStore()
      return lookupEntity(store, await snapshot(), given, (view) => ctx.policy.denial(principal, 'read_online', [{ kind: 'feature_view', name: view }])?.message)
    })

    scope.get('/console/api/*', { onRequest }, async (request) => {
      throw new MorselError('MORSEL_NOT_FOUND', `No console endpoint ${request.url}. Endpoints: /console/api/overview, /registry, /freshness, /timeseries, /lookup.`)
    })

    await serveBuiltPage(scope, {
      dir: CONSOLE_ASSETS_DIR,
      prefix: '/console/',
      notBuilt: `The console is not built (no ${CONSOLE_ASSETS_DIR}index.html): run \`npm run build\` in the Morsel package.`,
    })
  })
}
