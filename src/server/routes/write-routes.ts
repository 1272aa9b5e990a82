import type { FastifyInstance } from 'fastify'
import { MorselError } from '../../errors/index.js'
import { entityColumnsFrom } from '../../serving/entity-input.js'
import { getPushSource, parsePushTarget, pushTargets } from '../../serving/push.js'
import type { ColumnarRows } from '../../types/columnar.js'
import type { ResourceRef } from '../auth/permission-policy.js'
import { withDeadline } from '../deadline.js'
import { bodyObject, checkKnownKeys, optionalBoolean, requiredString } from '../request-body.js'
import { principalOf, type ServerContext } from '../server-context.js'

const PUSH_KEYS = ['push_source_name', 'df', 'to', 'allow_registry_cache', 'transform_on_write'] as const
const WRITE_KEYS = ['feature_view_name', 'df', 'allow_registry_cache', 'transform_on_write'] as const

/**
 * `POST /push` and `POST /write-to-online-store` (Feast's `PushFeaturesRequest` and
 * `WriteToFeatureStoreRequest`): rows as columns in `df`. Both keep the newest event time per
 * entity, so a retried request changes nothing.
 */
export function registerWriteRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store, config, policy, metrics } = ctx
  const { maxRowsPerWrite, requestTimeoutMs } = config.limits

  const rowsOf = (body: Record<string, unknown>): { record: Record<string, unknown[]>; rows: ColumnarRows } => {
    if (body.df === undefined) throw new MorselError('MORSEL_REQUEST_INVALID', '`df` is missing: give the rows as columns, e.g. {"driver_id": [1001], "event_timestamp": ["2024-01-15T00:00:00Z"], ...}.')
    const rows = entityColumnsFrom(body.df, '`df`')
    if (rows.rowCount > maxRowsPerWrite) {
      throw new MorselError(
        'MORSEL_PAYLOAD_TOO_LARGE',
        `The request carries ${rows.rowCount} rows; this server takes at most ${maxRowsPerWrite} per request (\`feature_server.limits.max_rows_per_write\`). Split it.`,
        { details: { rows: rows.rowCount, limit: maxRowsPerWrite } },
      )
    }
    return { record: body.df as Record<string, unknown[]>, rows }
  }

  app.post('/push', { onRequest: ctx.authHooks }, async (request) => {
    const body = bodyObject(request.body)
    checkKnownKeys(body, PUSH_KEYS, '/push')
    const name = requiredString(body, 'push_source_name', 'driver_stats_push_source')
    const to = parsePushTarget(body.to)
    optionalBoolean(body, 'allow_registry_cache')
    optionalBoolean(body, 'transform_on_write')
    const { record, rows } = rowsOf(body)
    const snapshot = store.registry.current() ?? (await store.registry.snapshot())
    getPushSource(snapshot, name)
    if (policy.enabled) {
      const views: ResourceRef[] = pushTargets(snapshot, name).map((v) => ({ kind: 'feature_view', name: v.name }))
      if (to !== 'offline') policy.check(principalOf(request), 'write_online', views)
      if (to !== 'online') policy.check(principalOf(request), 'write_offline', views)
    }
    const summary = await withDeadline(requestTimeoutMs, `Pushing to '${name}'`, () => store.push(name, record, { to }))
    metrics.recordPush(name, to, rows.rowCount)
    for (const v of summary.views) metrics.recordWrite(v.view, 'push', v.written, v.skipped)
    return {
      push_source_name: name,
      to,
      rows: summary.rows,
      feature_views: summary.views.map((v) => ({ name: v.view, written: v.written, skipped: v.skipped })),
      offline_rows: summary.offlineRows,
    }
  })

  app.post('/write-to-online-store', { onRequest: ctx.authHooks }, async (request) => {
    const body = bodyObject(request.body)
    checkKnownKeys(body, WRITE_KEYS, '/write-to-online-store')
    const view = requiredString(body, 'feature_view_name', 'driver_hourly_stats')
    optionalBoolean(body, 'allow_registry_cache')
    optionalBoolean(body, 'transform_on_write')
    const { record } = rowsOf(body)
    policy.check(principalOf(request), 'write_online', [{ kind: 'feature_view', name: view }])
    const summary = await withDeadline(requestTimeoutMs, `Writing to '${view}'`, () => store.writeToOnlineStore(view, record))
    metrics.recordWrite(view, 'write', summary.written, summary.skipped)
    return { feature_view_name: view, rows: summary.rows, written: summary.written, skipped: summary.skipped }
  })
}
