import { existsSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { MorselError, isMorselError } from '../../errors/index.js'
import type { ServerContext } from '../server-context.js'
import { principalOf } from '../server-context.js'
import type { ServerAppConfig } from './server-app-config.js'
import type { RegisterServerApp, ServerAppAuth } from './server-app.js'

/**
 * Mounts the apps of `feature_server.apps`: each module is imported straight from TypeScript (as
 * definition files are, `morsel` resolving to the running Morsel) and its `registerApp` called
 * with a Fastify scope under the app's prefix. Loading happens while the server gets ready, so a
 * missing or broken module stops `listen` with an error naming it.
 */
export function registerServerApps(app: FastifyInstance, ctx: ServerContext): void {
  const apps = ctx.config.apps ?? []
  if (apps.length === 0) return
  const repoPath = ctx.store.config.repoPath
  const auth: ServerAppAuth = {
    type: ctx.authenticator.type,
    onRequest: ctx.authHooks,
    principal: principalOf,
    check: (request, action, resources) => ctx.policy.check(principalOf(request), action, resources),
  }
  apps.forEach((entry, i) => {
    void app.register(
      async (scope) => {
        const register = await loadServerApp(entry, i, repoPath)
        try {
          await register(scope, { store: ctx.store, path: entry.path, options: entry.options, auth, log: app.log })
        } catch (err) {
          throw appError(err, `The app at ${entry.path} (${shown(entry.module, repoPath)}) failed to register`)
        }
      },
      { prefix: entry.path },
    )
  })
}

/** Imports an app module and returns its `registerApp`. */
export async function loadServerApp(entry: ServerAppConfig, index: number, repoPath: string): Promise<RegisterServerApp> {
  const file = shown(entry.module, repoPath)
  if (!existsSync(entry.module)) {
    throw new MorselError('MORSEL_CONFIG_INVALID', `\`feature_server.apps[${index}].module\` ${file}: no such file. Give the app's module relative to the repository.`, {
      details: { module: entry.module },
    })
  }
  const [api, serverApi, { createJiti }] = await Promise.all([import('../../index.js'), import('../index.js'), import('jiti')])
  const jiti = createJiti(join(dirname(entry.module), '_morsel_app_loader.js'), {
    fsCache: false,
    // No interop proxy between the app's code and the bindings it imports (see load-definitions).
    interopDefault: false,
    virtualModules: { morsel: api, 'morsel/server': serverApi },
  })
  let mod: unknown
  try {
    mod = await jiti.import(entry.module)
  } catch (err) {
    throw appError(err, `Could not load the app module ${file} (\`feature_server.apps[${index}]\`)`)
  }
  const register = (mod as { registerApp?: unknown } | null)?.registerApp
  if (typeof register !== 'function') {
    throw new MorselError(
      'MORSEL_REPO_INVALID',
      `The app module ${file} (\`feature_server.apps[${index}]\`) exports no function \`registerApp\`; export \`registerApp(app, ctx)\`, which adds the app's routes.`,
    )
  }
  return register as RegisterServerApp
}

function appError(err: unknown, context: string): MorselError {
  if (isMorselError(err)) return new MorselError(err.code, `${context}: ${err.message}`, { cause: err, details: err.details })
  return new MorselError('MORSEL_REPO_INVALID', `${context}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}

function shown(module: string, repoPath: string): string {
  const rel = relative(repoPath, module)
  return rel.startsWith('..') ? module : rel
}
