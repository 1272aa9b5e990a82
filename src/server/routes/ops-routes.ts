import type { FastifyInstance } from 'fastify'
import { MorselError } from '../../errors/index.js'
import { RETRY_AFTER_SECONDS, errorBody } from '../http-error.js'
import type { ServerContext } from '../server-context.js'

/**
 * `GET /health` (liveness: the process answers), `GET /ready` (readiness: the online store answers
 * a ping now, and the registry is loaded) and `GET /metrics` (Prometheus text format). None of
 * them needs credentials, so that probes and scrapers work unchanged; so none runs more than a
 * ping, and none says more than up or down. The store's detail (its last error, latency, figures)
 * is in the console's overview, which needs credentials. `/metrics` exists only while
 * `feature_server.metrics.enabled` is true.
 */
export function registerOpsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store, health, metrics } = ctx

  app.get('/health', async () => ({ status: 'ok' }))

  app.get('/ready', async (request, reply) => {
    const snapshot = store.registry.current()
    let reason: string | undefined
    if (snapshot === undefined) reason = 'the registry is not loaded yet'
    else {
      try {
        await health.ping()
      } catch (err) {
        request.log.warn({ err }, 'not ready: the online store does not answer')
        reason = `the online store does not answer (the server log has the details under request id ${request.id})`
      }
    }
    if (reason !== undefined || snapshot === undefined) {
      const err = new MorselError('MORSEL_STORE_UNAVAILABLE', `Not ready: ${reason}.`)
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).type('application/json; charset=utf-8').send(errorBody(err))
    }
    return { status: 'ready', project: store.project, registry_version: snapshot.version, online_store: { type: store.config.onlineStore.type, ok: true } }
  })

  if (!ctx.config.metrics.enabled) return
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render()
    return reply.type(contentType).send(body)
  })
}
