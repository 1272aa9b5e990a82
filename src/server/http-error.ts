import { ERROR_CODES, MorselError, isMorselError, type ErrorCode } from '../errors/index.js'

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1

/** Fastify's own errors (body parsing, limits) in Morsel's catalogue. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'MORSEL_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MORSEL_REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MORSEL_REQUEST_INVALID',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MORSEL_REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_TYPE: 'MORSEL_REQUEST_INVALID',
  FST_ERR_CTP_INVALID_TYPE: 'MORSEL_REQUEST_INVALID',
  FST_ERR_BAD_URL: 'MORSEL_REQUEST_INVALID',
  FST_ERR_ASYNC_CONSTRAINT: 'MORSEL_REQUEST_INVALID',
}

/**
 * What a failed request answers: a catalogue error, with the HTTP status of its code. Anything
 * that is not a MorselError or a known client error is an internal error whose message is not
 * shown to the caller (it may hold internals); the server logs it in full.
 */
export function toHttpError(err: unknown, requestId: string, maxBodyBytes: number): MorselError {
  if (isMorselError(err)) return err
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown }
  const code = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined
  if (code === 'MORSEL_PAYLOAD_TOO_LARGE') {
    return new MorselError(code, `The request body is larger than ${maxBodyBytes} bytes (\`feature_server.limits.max_body_bytes\`).`, {
      details: { limit: maxBodyBytes },
    })
  }
  if (code !== undefined) return new MorselError(code, typeof e.message === 'string' ? e.message : 'The request is malformed.')
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new MorselError('MORSEL_REQUEST_INVALID', typeof e.message === 'string' ? e.message : 'The request is malformed.')
  }
  return new MorselError('MORSEL_INTERNAL', `Internal error; the server log has the details under request id ${requestId}.`, { cause: err })
}

/** The JSON body of an error answer: `{"error": {"code", "message"}}`. */
export function errorBody(err: MorselError): string {
  return JSON.stringify({ error: { code: err.code, message: err.message } })
}

/**
 * The message a caller is shown for a server-side failure (5xx): the code's summary and where the
 * server log has the rest. The detail of a store, file or configuration failure (endpoints, file
 * paths, driver messages) tells a caller nothing it can act on and tells an attacker about the
 * deployment, so it goes to the log only, under `reference` (the request id, or a job id).
 */
export function publicMessage(code: ErrorCode, message: string, reference: string): string {
  if (ERROR_CODES[code].status < 500) return message
  return `${ERROR_CODES[code].summary} (${code}) The server log has the details under ${reference}.`
}

/** The error a caller is shown: itself below 500, its code with a generic message from 500 on. */
export function publicError(err: MorselError, requestId: string): MorselError {
  if (statusOf(err) < 500) return err
  return new MorselError(err.code, publicMessage(err.code, err.message, `request id ${requestId}`))
}

export function statusOf(err: MorselError): number {
  // A write that failed because the store could not be reached (a failover, a restart) is the
  // caller's cue to retry, as for a read: 503 with Retry-After, not 500. Other write failures
  // (a refused command, a full disk) stay 500.
  if (err.code === 'MORSEL_WRITE_FAILED' && TRANSIENT_STORE_CODES.has(err.details.storeCode)) return 503
  return ERROR_CODES[err.code].status
}

const TRANSIENT_STORE_CODES = new Set<unknown>(['MORSEL_STORE_UNAVAILABLE', 'MORSEL_TIMEOUT'])
