import { MorselError, didYouMean } from '../errors/index.js'

/** Keys that could reach an object's prototype if a body were ever merged into another object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
/** Deeper than this, a request body is not one of this API's shapes. */
const MAX_DEPTH = 32

/**
 * Parses a request body as JSON (whatever its content type: Feast's curl examples send none) and
 * refuses what could be used against the server: prototype keys anywhere, absurd nesting, and
 * anything but an object at the top. The common body costs one `JSON.parse` and a few `indexOf`
 * calls; the full key walk runs only when the text could hide a forbidden key.
 */
export function parseJsonBody(text: string): Record<string, unknown> {
  if (text.length === 0 || text.trim().length === 0) {
    throw new MorselError('MORSEL_REQUEST_INVALID', 'The request body is empty; send a JSON object.')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `The request body is not valid JSON: ${(err as Error).message}.`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `The request body must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}.`)
  }
  const suspicious = text.includes('__proto__') || text.includes('constructor') || text.includes('prototype') || text.includes('\\u')
  if (suspicious || countOpenings(text, MAX_DEPTH) > MAX_DEPTH) checkTree(value)
  return value as Record<string, unknown>
}

/** Counts `[` and `{` (strings included: an upper bound of the depth), stopping past `limit`. */
function countOpenings(text: string, limit: number): number {
  let n = 0
  for (const ch of ['[', '{']) {
    let at = text.indexOf(ch)
    while (at !== -1) {
      if (++n > limit) return n
      at = text.indexOf(ch, at + 1)
    }
  }
  return n
}

/** Walks the parsed body without recursion, checking keys and depth. */
function checkTree(root: object): void {
  const stack: Array<[unknown, number]> = [[root, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (node === null || typeof node !== 'object') continue
    if (depth > MAX_DEPTH) throw new MorselError('MORSEL_REQUEST_INVALID', `The request body nests deeper than ${MAX_DEPTH} levels.`)
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push([item, depth + 1])
      continue
    }
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) {
        throw new MorselError('MORSEL_REQUEST_INVALID', `The request body uses the key '${key}', which is not allowed anywhere in a request.`, { details: { key } })
      }
      const child = (node as Record<string, unknown>)[key]
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
    }
  }
}

/**
 * The parsed body of a POST. A request with no body and no Content-Type never reaches the parser
 * (Fastify has nothing to parse), so it is refused here as an empty body is.
 */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) throw new MorselError('MORSEL_REQUEST_INVALID', 'The request body is empty; send a JSON object.')
  return body as Record<string, unknown>
}

/** Rejects keys of a request object that the endpoint does not know, suggesting the intended one. */
export function checkKnownKeys(body: Record<string, unknown>, known: readonly string[], endpoint: string): void {
  for (const key in body) {
    if (!known.includes(key)) {
      throw new MorselError(
        'MORSEL_REQUEST_INVALID',
        `Unknown field '${key}' in the ${endpoint} request.${didYouMean(key, known)} Fields: ${known.join(', ')}.`,
        { details: { field: key } },
      )
    }
  }
}

export function optionalBoolean(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') throw new MorselError('MORSEL_REQUEST_INVALID', `\`${key}\` must be true or false, got ${preview(v)}.`)
  return v
}

export function requiredString(body: Record<string, unknown>, key: string, example: string): string {
  const v = body[key]
  if (typeof v !== 'string' || v === '') {
    throw new MorselError('MORSEL_REQUEST_INVALID', `\`${key}\` must be a non-empty string such as ${JSON.stringify(example)}, got ${v === undefined ? 'nothing' : preview(v)}.`)
  }
  return v
}

export function optionalStringList(body: Record<string, unknown>, key: string): string[] | undefined {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `\`${key}\` must be a list of strings, got ${preview(v)}.`)
  }
  return v
}

/** A short JSON rendering of a value for an error message. */
export function preview(v: unknown): string {
  let s: string
  try {
    s = JSON.stringify(v) ?? String(v)
  } catch {
    s = String(v)
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
