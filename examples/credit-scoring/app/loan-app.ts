/**
 * The loan application page, served by the feature server at `/loan/` (feature_store.yaml's
 * `feature_server.apps`, or the quickstart's `npm start`): a form like the tutorial's, and per
 * application the request, every value fetched online with its status and age, the decision, each
 * input's SHAP value and the model's global importance.
 *
 *   GET  /loan/             the page (built by `npm run build` from app/web into app/web/dist)
 *   GET  /loan/api/model    the model and its global importance
 *   POST /loan/api/decide   a filled-in form → the decision, explained (400 with a message per field)
 *
 * Both endpoints sit behind the server's access control and need `read_online` on the feature
 * service.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fastifyStatic } from '@fastify/static'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MorselError } from 'morsel'
import type { ServerAppContext } from 'morsel/server'
import { creditScoringV1 } from '../features.js'
import type { LoanErrorResponse } from './loan-api-types.js'
import { parseLoanForm } from './loan-form.js'
import { LoanService } from './loan-service.js'

/** Where `vite build` writes the page (app/web/vite.config.ts). */
export const LOAN_PAGE_DIR = fileURLToPath(new URL('./web/dist/', import.meta.url))

const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

export async function registerApp(app: FastifyInstance, ctx: ServerAppContext): Promise<void> {
  const service = new LoanService(ctx.store)
  const resources = [{ kind: 'feature_service' as const, name: creditScoringV1.name }]
  const allowed = (request: FastifyRequest): void => ctx.auth.check(request, 'read_online', resources)
  const { onRequest } = ctx.auth

  app.get('/api/model', { onRequest }, async (request) => {
    allowed(request)
    return service.describe()
  })

  app.post('/api/decide', { onRequest }, async (request, reply) => {
    allowed(request)
    const parsed = parseLoanForm(request.body)
    if (!parsed.ok) {
      const n = Object.keys(parsed.errors).length
      const body: LoanErrorResponse = {
        error: { code: 'MORSEL_REQUEST_INVALID', message: `${n} field${n === 1 ? ' needs' : 's need'} fixing.`, fields: parsed.errors },
      }
      return reply.code(400).send(body)
    }
    return service.decide(parsed.values, parsed.application)
  })

  // The model's importance takes a training-set read: start it with the server, and let a
  // shutdown wait for it rather than close the offline store under it.
  app.addHook('onReady', async () => service.warmUp())
  app.addHook('onClose', async () => service.idle())

  if (existsSync(`${LOAN_PAGE_DIR}index.html`)) {
    await app.register(fastifyStatic, {
      root: LOAN_PAGE_DIR,
      prefix: '/',
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (res, path) => {
        res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
        res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY)
        res.setHeader('x-content-type-options', 'nosniff')
      },
    })
    // The router ignores trailing slashes: /loan and /loan/ both land here; the page's relative
    // asset URLs need the slash.
    app.get('/', async (request, reply) => {
      const path = request.url.split('?')[0] ?? ''
      if (!path.endsWith('/')) return reply.redirect(`${path}/${request.url.slice(path.length)}`, 301)
      return reply.sendFile('index.html')
    })
  } else {
    const notBuilt = async (): Promise<never> => {
      throw new MorselError('MORSEL_NOT_FOUND', `The loan page is not built (no ${LOAN_PAGE_DIR}index.html): run \`npm run build\`, or \`npm start\`, which builds it.`)
    }
    app.get('/', notBuilt)
    app.get('/*', notBuilt)
  }
}
