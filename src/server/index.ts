/**
 * `morsel/server`: the feature server as a library, kept out of the main entry point so that
 * applications reading features in process do not load Fastify, pino and prom-client.
 */
export { createServer, checkExposure, isLoopback, type CreateServerOptions } from './create-server.js'
export { startFeatureServer, type RunningFeatureServer, type StartFeatureServerOptions, type FeatureServerUrls } from './start-feature-server.js'
export { ServerMetrics } from './server-metrics.js'
export { InstrumentedOnlineStore } from './instrumented-online-store.js'
export type { FeatureServerConfig, ServerAction, ServerLimits, AuthConfig, PermissionConfig } from './feature-server-config.js'
export type { ServerAppContext, ServerAppAuth, RegisterServerApp } from './apps/server-app.js'
export type { ServerAppConfig, ConsoleConfig } from './apps/server-app-config.js'
export { serveBuiltPage, type BuiltPage } from './apps/serve-built-page.js'
export type { Principal } from './auth/authenticator.js'
export type { ResourceRef } from './auth/permission-policy.js'
