import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MorselError } from '../../errors/index.js'
import type { FeatureStore } from '../../feature-store.js'
import { parseDateTimeMicros } from '../../internal/time.js'
import type { MaterializeResult } from '../../materialization/materialize.js'
import { publicMessage } from '../http-error.js'
import { redactCredentials } from '../redact-credentials.js'
import type { MaterializeJob } from '../materialize-jobs.js'
import { bodyObject, checkKnownKeys, optionalBoolean, optionalStringList, preview } from '../request-body.js'
import { principalOf, type ServerContext } from '../server-context.js'

const FULL_KEYS = ['start_ts', 'end_ts', 'feature_views', 'disable_event_timestamp', 'full_feature_names', 'version'] as const
const INCREMENTAL_KEYS = ['end_ts', 'feature_views', 'full_feature_names', 'version'] as const

type Runner = (store: FeatureStore, views: readonly string[], signal: AbortSignal) => Promise<MaterializeResult>

/**
 * `POST /materialize` and `POST /materialize-incremental` (Feast's `MaterializeRequest` and
 * `MaterializeIncrementalRequest`): synchronous by default (200 with the finished job), or with
 * `?async=true` 202 and a job id to poll at `GET /materialize/jobs/:id`.
 */
export function registerMaterializeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store, policy, jobs, metrics } = ctx

  const run = async (request: FastifyRequest, kind: MaterializeJob['kind'], requested: readonly string[] | undefined, runner: Runner) => {
    const asyncRun = asyncFlag(request.query)
    const snapshot = store.registry.current() ?? (await store.registry.snapshot())
    const views = requested ?? [...snapshot.featureViews.values()].filter((v) => v.online).map((v) => v.name)
    if (requested !== undefined) {
      if (requested.length === 0) throw new MorselError('MORSEL_REQUEST_INVALID', '`feature_views` is empty: name at least one view, or leave it out to materialize them all.')
      policy.check(principalOf(request), 'materialize', requested.map((name) => ({ kind: 'feature_view' as const, name })))
      for (const v of requested) snapshot.getFeatureView(v)
    } else {
      policy.check(principalOf(request), 'materialize', views.map((name) => ({ kind: 'feature_view' as const, name })))
    }
    const t0 = performance.now()
    const { job, done } = jobs.start(kind, views, async (signal) => resultJson(await runner(store, views, signal)))
    void done.then((j) => {
      const seconds = (performance.now() - t0) / 1000
      metrics.recordMaterialization(viewStats(j, seconds), j.status === 'succeeded')
      if (j.status === 'failed') request.log.error({ jobId: j.id, error: { code: j.error?.code, message: redactCredentials(j.error?.message ?? '') } }, 'materialization failed')
      else request.log.info({ jobId: j.id, featureViews: j.featureViews, seconds }, 'materialization finished')
    })
    return { asyncRun, job, done }
  }

  app.post('/materialize', { onRequest: ctx.authHooks }, async (request, reply) => {
    const body = bodyObject(request.body)
    checkKnownKeys(body, FULL_KEYS, '/materialize')
    const requested = optionalStringList(body, 'feature_views')
    optionalBoolean(body, 'full_feature_names')
    const disable = optionalBoolean(body, 'disable_event_timestamp') ?? false
    const end = disable ? new Date() : requiredTime(body, 'end_ts')
    const start = disable ? new Date(0) : requiredTime(body, 'start_ts')
    if (start.getTime() >= end.getTime()) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `\`start_ts\` (${start.toISOString()}) must be before \`end_ts\` (${end.toISOString()}).`)
    }
    const { asyncRun, job, done } = await run(request, 'materialize', requested, (s, views, signal) => s.materialize({ start, end, views, signal }))
    return answer(reply, asyncRun, job, done)
  })

  app.post('/materialize-incremental', { onRequest: ctx.authHooks }, async (request, reply) => {
    const body = bodyObject(request.body)
    checkKnownKeys(body, INCREMENTAL_KEYS, '/materialize-incremental')
    const requested = optionalStringList(body, 'feature_views')
    optionalBoolean(body, 'full_feature_names')
    const end = requiredTime(body, 'end_ts')
    const { asyncRun, job, done } = await run(request, 'materialize-incremental', requested, (s, views, signal) => s.materializeIncremental({ end, views, signal }))
    return answer(reply, asyncRun, job, done)
  })

  app.get('/materialize/jobs', { onRequest: ctx.authHooks }, async () => ({ jobs: jobs.list().map(jobJson) }))

  app.get<{ Params: { id: string } }>('/materialize/jobs/:id', { onRequest: ctx.authHooks }, async (request) => jobJson(jobs.get(request.params.id)))
}

async function answer(reply: { code(n: number): unknown }, asyncRun: boolean, job: MaterializeJob, done: Promise<MaterializeJob>): Promise<unknown> {
  if (asyncRun) {
    reply.code(202)
    return { status: 'accepted', job_id: job.id, feature_views: job.featureViews, poll: `/materialize/jobs/${job.id}` }
  }
  const finished = await done
  // The error handler logs the detail under the request id and answers with the code alone.
  if (finished.status === 'failed' && finished.error !== undefined) throw new MorselError(finished.error.code, finished.error.message, { details: { jobId: job.id } })
  return jobJson(finished)
}

function jobJson(job: MaterializeJob): Record<string, unknown> {
  // A failed run's detail (file paths, store endpoints) was logged with the job id; pollers get the code.
  const error = job.error === undefined ? null : { code: job.error.code, message: publicMessage(job.error.code, job.error.message, `job id ${job.id}`) }
  return {
    job_id: job.id,
    kind: job.kind,
    status: job.status,
    feature_views: job.featureViews,
    started_at: job.startedAt,
    finished_at: job.finishedAt ?? null,
    result: job.result ?? null,
    error,
  }
}

function asyncFlag(query: unknown): boolean {
  const v = (query as Record<string, unknown> | undefined)?.async
  if (v === undefined || v === 'false' || v === '0') return false
  if (v === '' || v === 'true' || v === '1') return true
  throw new MorselError('MORSEL_REQUEST_INVALID', `\`async\` must be true or false, got ${preview(v)}.`)
}

function requiredTime(body: Record<string, unknown>, key: string): Date {
  const v = body[key]
  const us = typeof v === 'string' ? parseDateTimeMicros(v.trim()) : undefined
  if (us === undefined) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `\`${key}\` must be a time such as "2024-01-15T00:00:00Z", got ${v === undefined ? 'nothing' : preview(v)}.`)
  }
  return new Date(us / 1000)
}

/** The run's figures in the API's snake_case form: per view its window, rows read, written and skipped. */
function resultJson(result: MaterializeResult): { feature_views: Array<Record<string, unknown>> } {
  return {
    feature_views: result.views.map((v) => ({
      name: v.view,
      start: v.start.toISOString(),
      end: v.end.toISOString(),
      rows: v.rows,
      written: v.written,
      skipped: v.skipped,
      duration_ms: Math.round(v.durationMs),
    })),
  }
}

/** Per-view rows and duration of a finished job (the whole run's duration for views it did not reach). */
function viewStats(job: MaterializeJob, seconds: number): Array<{ view: string; rows: number; seconds: number }> {
  const done = new Map<string, { rows: number; seconds: number }>()
  for (const v of (job.result as ReturnType<typeof resultJson> | undefined)?.feature_views ?? []) {
    done.set(v.name as string, { rows: v.rows as number, seconds: (v.duration_ms as number) / 1000 })
  }
  return job.featureViews.map((view) => ({ view, rows: done.get(view)?.rows ?? 0, seconds: done.get(view)?.seconds ?? seconds }))
}
