import { existsSync } from 'node:fs'
import { fastifyStatic } from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { MorselError } from '../../errors/index.js'

/** Pages served by the server load only their own scripts, styles and API: nothing inline, no frames. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

export interface BuiltPage {
  /** The folder `vite build` wrote (ends with '/'), holding index.html and assets/. */
  readonly dir: string
  /** Where it is served, e.g. '/console/'; '/' inside an app's own prefix. */
  readonly prefix: string
  /** What to tell a user who asks for the page before it is built. */
  readonly notBuilt: string
}

/**
 * Serves a single-page app built by Vite: hashed assets cached for good, the page never, both
 * under a strict content security policy. Until the page is built, asking for it is a 404 saying
 * how to build it, not a bare not-found.
 */
export async function serveBuiltPage(scope: FastifyInstance, page: BuiltPage): Promise<void> {
  const root = page.prefix === '/' ? '/' : page.prefix.replace(/\/$/, '')
  const wildcard = page.prefix === '/' ? '/*' : `${page.prefix}*`
  if (!existsSync(`${page.dir}index.html`)) {
    const notBuilt = async (): Promise<never> => {
      throw new MorselError('MORSEL_NOT_FOUND', page.notBuilt)
    }
    scope.get(root, notBuilt)
    scope.get(wildcard, notBuilt)
    return
  }
  await scope.register(fastifyStatic, {
    root: page.dir,
    prefix: page.prefix,
    index: ['index.html'],
    cacheControl: false,
    setHeaders: (res, path) => {
      // Vite puts a content hash in every asset name: cache those for good, never the page.
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY)
      res.setHeader('x-content-type-options', 'nosniff')
    },
  })
  // The router ignores trailing slashes, so `prefix` without its slash lands here too; the page's
  // relative asset URLs need the slash, hence the redirect.
  scope.get(root, async (request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    if (!path.endsWith('/')) return reply.redirect(`${path}/${request.url.slice(path.length)}`, 301)
    return reply.sendFile('index.html')
  })
}
