import type { FastifyInstance } from 'fastify'
import { MorselError, isMorselError } from '../../errors/index.js'
import { toFeastJson } from '../../serving/feast-json.js'
import type { ReadPlan } from '../../serving/read-plan.js'
import type { Principal } from '../auth/authenticator.js'
import type { ResourceRef } from '../auth/permission-policy.js'
import { withDeadline } from '../deadline.js'
import { parseOnlineRequest } from '../online-request.js'
import { bodyObject } from '../request-body.js'
import { coerceRequestData } from '../request-data.js'
import { principalOf, type ServerContext } from '../server-context.js'

const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * `POST /get-online-features`, Feast's contract. The hot path: the body was parsed by the raw
 * JSON parser, the read plan comes from the store's per-snapshot cache, permission decisions are
 * cached per plan and caller, and the answer is the one string `toFeastJson` builds.
 */
export function registerOnlineFeaturesRoute(app: FastifyInstance, ctx: ServerContext): void {
  const { store, config, policy, health } = ctx
  const maxRows = config.limits.maxEntitiesPerRequest
  const timeoutMs = config.limits.requestTimeoutMs
  const decisions = new WeakMap<ReadPlan, Map<Principal, MorselError | null>>()

  const authorize = (principal: Principal, plan: ReadPlan, featureService: string | undefined): void => {
    let perPlan = decisions.get(plan)
    if (perPlan === undefined) {
      perPlan = new Map()
      decisions.set(plan, perPlan)
    }
    let decision = perPlan.get(principal)
    if (decision === undefined) {
      decision = policy.denial(principal, 'read_online', readResources(plan, featureService)) ?? null
      if (perPlan.size >= 1000) perPlan.clear()
      perPlan.set(principal, decision)
    }
    if (decision !== null) throw decision
  }

  // Set once the store is open, so a request pays no await for it (planFor needs it open).
  let opened = false

  app.post('/get-online-features', { onRequest: ctx.authHooks }, async (request, reply) => {
    const req = parseOnlineRequest(bodyObject(request.body), maxRows)
    const snapshot = store.registry.current() ?? (await store.registry.snapshot())
    if (!opened) {
      await store.onlineStore()
      opened = true
    }
    const plan = store.planFor(snapshot, req)
    if (policy.enabled) authorize(principalOf(request), plan, 'featureService' in req ? req.featureService : undefined)
    const input = plan.requestFields.length > 0 ? coerceRequestData(plan.requestFields, req.input) : req.input
    let body: string
    try {
      const response = await withDeadline(timeoutMs, 'Reading online features', () => store.readWithPlan(plan, input))
      body = toFeastJson(response)
    } catch (err) {
      if (isMorselError(err, 'MORSEL_TIMEOUT') && health.down) {
        throw new MorselError('MORSEL_STORE_UNAVAILABLE', `The online store is unavailable (${health.last?.detail ?? 'its last health check failed'}).`, { cause: err })
      }
      throw err
    }
    reply.header('content-type', JSON_TYPE)
    return body
  })
}

/**
 * What a read touches: the feature service asked for, or each view the features come from. An
 * on-demand view reads its source views, and what it returns is computed from their values, so
 * those views are checked too (the plan holds them as hidden columns): a grant on the on-demand
 * view alone must not open the stored views behind it.
 */
function readResources(plan: ReadPlan, featureService: string | undefined): ResourceRef[] {
  if (featureService !== undefined) return [{ kind: 'feature_service', name: featureService }]
  const views = new Set(plan.columns.map((c) => c.view))
  return [...views].map((name) => ({ kind: 'feature_view', name }))
}
