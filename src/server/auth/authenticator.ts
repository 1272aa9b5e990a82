import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { jwtVerify, type JWTPayload } from 'jose'
import { MorselError } from '../../errors/index.js'
import { sha256Hex, type AuthConfig, type JwtConfig } from '../feature-server-config.js'

/** Who is calling, as the permission policy sees it. */
export interface Principal {
  readonly name: string
  readonly roles: readonly string[]
  readonly via: 'none' | 'api_key' | 'jwt'
}

/** The caller when access control is off (loopback only). */
export const ANONYMOUS: Principal = Object.freeze({ name: 'anonymous', roles: Object.freeze([]), via: 'none' })

export interface Authenticator {
  readonly type: AuthConfig['type']
  /** The caller of a request, or MORSEL_UNAUTHENTICATED (401) / MORSEL_FORBIDDEN (403). */
  authenticate(headers: IncomingHttpHeaders): Principal | Promise<Principal>
}

/** Builds the authenticator the config asks for; key files are read here, once. */
export function createAuthenticator(config: AuthConfig, project: string): Authenticator {
  switch (config.type) {
    case 'none':
      return { type: 'none', authenticate: () => ANONYMOUS }
    case 'api_key':
      return apiKeyAuthenticator(config.apiKeys)
    case 'jwt':
      return jwtAuthenticator(config.jwt, project)
  }
}

const CREDENTIALS_HINT = 'send `Authorization: Bearer <credential>`'

/** The bearer credential of a request, if any (`X-API-Key` also works for API keys). */
function bearer(headers: IncomingHttpHeaders, allowApiKeyHeader: boolean): string | undefined {
  const auth = headers.authorization
  if (auth !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth)
    if (m === null) throw new MorselError('MORSEL_UNAUTHENTICATED', `The Authorization header is not of the form \`Bearer <credential>\`; ${CREDENTIALS_HINT}.`)
    return m[1]
  }
  const key = headers['x-api-key']
  if (allowApiKeyHeader && typeof key === 'string' && key !== '') return key
  return undefined
}

function apiKeyAuthenticator(keys: ReadonlyArray<{ readonly principal: string; readonly keySha256: string; readonly roles: readonly string[] }>): Authenticator {
  const byHash = new Map<string, Principal>()
  for (const k of keys) byHash.set(k.keySha256, Object.freeze({ name: k.principal, roles: Object.freeze([...k.roles]), via: 'api_key' as const }))
  return {
    type: 'api_key',
    authenticate(headers) {
      const key = bearer(headers, true)
      if (key === undefined) throw new MorselError('MORSEL_UNAUTHENTICATED', `This server needs an API key: ${CREDENTIALS_HINT} or \`X-API-Key: <key>\`.`)
      // Looking up the key's hash, not the key, keeps the comparison free of timing on the secret.
      const principal = byHash.get(sha256Hex(key))
      if (principal === undefined) throw new MorselError('MORSEL_UNAUTHENTICATED', 'The API key is not valid for this server.')
      return principal
    },
  }
}

const JWT_CACHE_SIZE = 10_000

function jwtAuthenticator(config: JwtConfig, project: string): Authenticator {
  let key: Uint8Array | KeyObject
  if (config.secret !== undefined) key = new TextEncoder().encode(config.secret)
  else {
    const file = config.publicKeyFile ?? ''
    try {
      key = createPublicKey(readFileSync(file))
    } catch (err) {
      throw new MorselError(
        'MORSEL_CONFIG_INVALID',
        `\`feature_server.auth.jwt.public_key_file\` ${file} is not a readable PEM public key: ${(err as Error).message}`,
        { cause: err },
      )
    }
  }
  const options = {
    algorithms: [...config.algorithms],
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // A token without an expiry would stay valid (and cached) for ever once leaked.
    requiredClaims: ['exp'],
  }
  // Verified tokens, so that a client reusing its token pays for the signature check once.
  const cache = new Map<string, { readonly principal: Principal; readonly expiresAtMs: number }>()

  return {
    type: 'jwt',
    async authenticate(headers) {
      const token = bearer(headers, false)
      if (token === undefined) throw new MorselError('MORSEL_UNAUTHENTICATED', `This server needs a JWT: ${CREDENTIALS_HINT}.`)
      const hit = cache.get(token)
      if (hit !== undefined) {
        if (Date.now() < hit.expiresAtMs) return hit.principal
        cache.delete(token)
      }
      let payload: JWTPayload
      try {
        payload = (await jwtVerify(token, key, options)).payload
      } catch (err) {
        throw tokenError(err)
      }
      const principal = principalOf(payload, config, project)
      // `exp` is required above; cached no longer than the token is valid, so an expired token is
      // checked again (and refused) rather than served from the cache.
      const expiresAtMs = (payload.exp as number) * 1000
      if (cache.size >= JWT_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
      cache.set(token, { principal, expiresAtMs })
      return principal
    },
  }
}

function principalOf(payload: JWTPayload, config: JwtConfig, project: string): Principal {
  const scope = payload[config.projectClaim]
  if (scope !== undefined) {
    const projects = Array.isArray(scope) ? scope : [scope]
    if (!projects.includes(project)) {
      throw new MorselError(
        'MORSEL_FORBIDDEN',
        `The token is for project ${projects.map((p) => `'${String(p)}'`).join(', ')}, not '${project}' (claim \`${config.projectClaim}\`).`,
        { details: { project } },
      )
    }
  }
  const name = payload[config.principalClaim]
  if (typeof name !== 'string' || name === '') {
    throw new MorselError('MORSEL_UNAUTHENTICATED', `The token has no \`${config.principalClaim}\` claim naming the caller (\`feature_server.auth.jwt.principal_claim\`).`)
  }
  const rawRoles = payload[config.rolesClaim]
  const roles = Array.isArray(rawRoles) ? rawRoles.filter((r): r is string => typeof r === 'string') : typeof rawRoles === 'string' ? rawRoles.split(/\s+/).filter(Boolean) : []
  return Object.freeze({ name, roles: Object.freeze(roles), via: 'jwt' as const })
}

function tokenError(err: unknown): MorselError {
  const e = err as { code?: string; claim?: string; reason?: string; payload?: JWTPayload }
  let message: string
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      message = `The token expired${typeof e.payload?.exp === 'number' ? ` at ${new Date(e.payload.exp * 1000).toISOString()}` : ''}; get a new one.`
      break
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      message = "The token's signature does not verify with this server's key."
      break
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'exp' && e.reason === 'missing') {
        message = 'The token has no `exp` (expiry) claim; this server accepts only tokens that expire. Issue it with an expiry time.'
        break
      }
      message = `The token's \`${e.claim ?? '?'}\` claim is not accepted (${e.reason ?? 'check failed'}).`
      break
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      message = "The token's algorithm is not one this server accepts (`feature_server.auth.jwt.algorithms`)."
      break
    default:
      message = 'The token is not a valid JWT.'
  }
  return new MorselError('MORSEL_UNAUTHENTICATED', message)
}
