import type { FastifyRequest } from 'fastify'
import type { FeatureStore } from '../feature-store.js'
import { ANONYMOUS, type Authenticator, type Principal } from './auth/authenticator.js'
import type { PermissionPolicy } from './auth/permission-policy.js'
import type { FeatureServerConfig } from './feature-server-config.js'
import type { MaterializeJobs } from './materialize-jobs.js'
import type { ServerMetrics } from './server-metrics.js'
import type { StoreHealthMonitor } from './store-health-monitor.js'

/** What every route module is given: the store and the server's shared parts. */
export interface ServerContext {
  readonly store: FeatureStore
  readonly config: FeatureServerConfig
  readonly metrics: ServerMetrics
  readonly authenticator: Authenticator
  readonly policy: PermissionPolicy
  readonly health: StoreHealthMonitor
  readonly jobs: MaterializeJobs
  /** Route-level hooks of endpoints that need a caller (none when access control is off). */
  readonly authHooks: Array<(request: FastifyRequest) => Promise<void>>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null when access control is off (see `principalOf`). */
    principal: Principal | null
  }
}

/** The caller of a request: anonymous when access control is off. */
export function principalOf(request: FastifyRequest): Principal {
  return request.principal ?? ANONYMOUS
}
