import { MorselError, didYouMean } from '../../errors/index.js'
import type { FeatureStore } from '../../feature-store.js'
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js'
import type { ConsoleLookup, ConsoleLookupValue } from './console-types.js'

/**
 * One entity's online features, for the console's lookup page: every online feature view whose
 * join keys are all given is read, in one online read; the others are listed as skipped, with
 * the reason. Values typed in a form arrive as text and are turned into their join key's type.
 *
 * @param given join key → value as typed (empty values are ignored)
 * @param denied the reason a view may not be read by the caller, or undefined when it may
 */
export async function lookupEntity(
  store: FeatureStore,
  snapshot: RegistrySnapshot,
  given: Readonly<Record<string, string>>,
  denied: (view: string) => string | undefined,
): Promise<ConsoleLookup> {
  const keyTypes = new Map<string, string>()
  for (const v of snapshot.featureViews.values()) for (const c of v.entityColumns) keyTypes.set(c.name, c.dtype)
  const keys: Record<string, unknown> = {}
  for (const [name, text] of Object.entries(given)) {
    if (text.trim() === '') continue
    const dtype = keyTypes.get(name)
    if (dtype === undefined) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `'${name}' is not a join key of any feature view of project '${snapshot.project}'.${didYouMean(name, keyTypes.keys())}`, {
        details: { joinKey: name },
      })
    }
    keys[name] = keyValue(name, dtype, text.trim())
  }
  if (Object.keys(keys).length === 0) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `Give a value for at least one join key: ${[...keyTypes.keys()].join(', ') || '(the project has no feature views)'}.`)
  }

  const read: Array<{ view: string; joinKeys: string[]; ttlSeconds: number; features: Array<{ name: string; dtype: string }> }> = []
  const skipped: Array<{ view: string; reason: string }> = []
  for (const v of snapshot.featureViews.values()) {
    const joinKeys = v.entityColumns.map((c) => c.name)
    const missing = joinKeys.filter((k) => !(k in keys))
    if (missing.length > 0) skipped.push({ view: v.name, reason: `needs ${missing.join(' and ')}` })
    else if (!v.online) skipped.push({ view: v.name, reason: 'not served online (`online: false`)' })
    else {
      const reason = denied(v.name)
      if (reason !== undefined) skipped.push({ view: v.name, reason })
      else read.push({ view: v.name, joinKeys, ttlSeconds: v.ttlSeconds, features: v.features.map((f) => ({ name: f.name, dtype: f.dtype })) })
    }
  }
  for (const o of snapshot.onDemandFeatureViews.values()) skipped.push({ view: o.name, reason: 'on-demand: computed per request, from request data' })
  if (read.length === 0) return { keys: jsonRecord(keys), readMs: 0, views: [], skipped }

  const needed = new Set(read.flatMap((r) => r.joinKeys))
  const row = Object.fromEntries(Object.entries(keys).filter(([k]) => needed.has(k)))
  const t0 = performance.now()
  const response = await store.getOnlineFeatures({
    features: read.flatMap((r) => r.features.map((f) => `${r.view}:${f.name}`)),
    entityRows: [row],
    fullFeatureNames: true,
  })
  const readMs = performance.now() - t0
  const now = Date.now()
  return {
    keys: jsonRecord(row),
    readMs,
    views: read.map((r) => ({
      view: r.view,
      joinKeys: r.joinKeys,
      ttlSeconds: r.ttlSeconds,
      values: r.features.map((f): ConsoleLookupValue => {
        const name = `${r.view}__${f.name}`
        const time = response.eventTime(name)
        return {
          name: f.name,
          dtype: f.dtype,
          value: jsonValue(response.value(name)),
          status: response.status(name),
          eventTime: time?.toISOString() ?? null,
          ageSeconds: time !== null ? Math.max(0, (now - time.getTime()) / 1000) : null,
        }
      }),
    })),
    skipped,
  }
}

/** A join key value typed as text, in its key's type. */
function keyValue(name: string, dtype: string, text: string): unknown {
  switch (dtype) {
    case 'Int32':
    case 'Int64': {
      if (!/^-?\d+$/.test(text)) throw new MorselError('MORSEL_ENTITY_KEY_INVALID', `Join key '${name}' is ${dtype}: give a whole number, not '${text}'.`, { details: { joinKey: name } })
      const n = Number(text)
      return Number.isSafeInteger(n) ? n : BigInt(text)
    }
    case 'UnixTimestamp': {
      const ms = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text)
      if (!Number.isFinite(ms)) throw new MorselError('MORSEL_ENTITY_KEY_INVALID', `Join key '${name}' is a timestamp: give an RFC 3339 time or epoch seconds, not '${text}'.`, { details: { joinKey: name } })
      return new Date(ms)
    }
    case 'Bytes':
      return Uint8Array.from(Buffer.from(text, 'base64'))
    default:
      return text
  }
}

/** A feature value in JSON: bigints and times as strings, bytes as base64. */
export function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Date) return v.toISOString()
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
  if (Array.isArray(v)) return v.map(jsonValue)
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  return v
}

function jsonRecord(r: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, jsonValue(v)]))
}
