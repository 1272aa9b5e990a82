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
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { serveBuiltPage, type ServerAppContext } from 'morsel/server'
import { creditScoringV1 } from '../features.js'
import type { LoanErrorResponse } from './loan-api-types.js'
import { parseLoanForm } from './loan-form.js'
import { LoanService } from './loan-service.js'

/** Where `vite build` writes the page (app/web/vite.config.ts). */
export const LOAN_PAGE_DIR = fileURLToPath(new URL('./web/dist/', import.meta.url))

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

  await serveBuiltPage(app, {
    dir: LOAN_PAGE_DIR,
    prefix: '/',
    notBuilt: `The loan page is not built (no ${LOAN_PAGE_DIR}index.html): run \`npm run build\`, or \`npm start\`, which builds it.`,
  })
}
