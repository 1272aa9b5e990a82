import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import type { FeatureStore } from '../../feature-store.js'
import type { Principal } from '../auth/authenticator.js'
import type { ResourceRef } from '../auth/permission-policy.js'
import type { AuthConfig, ServerAction } from '../feature-server-config.js'

/**
 * What a server app's `registerApp` receives besides its Fastify scope (already prefixed with the
 * app's path): the server's store and access control.
 */
export interface ServerAppContext {
  /** The repository's store, shared with the server: its reads count in the server's metrics. */
  readonly store: FeatureStore
  /** The app's URL prefix, e.g. `/loan`. */
  readonly path: string
  /** The `options` of the app's entry in feature_store.yaml. */
  readonly options: Readonly<Record<string, unknown>>
  readonly auth: ServerAppAuth
  /** The server's logger. */
  readonly log: FastifyBaseLogger
}

/** The server's access control, for an app's routes. */
export interface ServerAppAuth {
  readonly type: AuthConfig['type']
  /**
   * `onRequest` hooks that authenticate the caller exactly as the feature API does (401 without
   * valid credentials); empty when access control is off. Put them on every route that answers
   * with data.
   */
  readonly onRequest: Array<(request: FastifyRequest) => Promise<void>>
  /** The caller of a request that went through `onRequest` (anonymous when access control is off). */
  principal(request: FastifyRequest): Principal
  /** Throws MORSEL_FORBIDDEN (403) unless the caller may do `action` on every resource listed. */
  check(request: FastifyRequest, action: ServerAction, resources: readonly ResourceRef[]): void
}

/**
 * The function a server app module exports as `registerApp`. It adds routes to `app`, whose paths
 * are relative to the app's prefix (`app.get('/api/x')` answers `/loan/api/x`); the server waits
 * for it before listening, so an app that throws stops the server from starting.
 */
export type RegisterServerApp = (app: FastifyInstance, ctx: ServerAppContext) => void | Promise<void>
