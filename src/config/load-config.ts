import { readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { MorselError, didYouMean } from '../errors/index.js'
import { substituteEnvDeep, type TypedSubstitutions } from './env.js'
import { repoConfigSchema, type RepoConfig } from './repo-config.js'
import { resolveFeatureServerConfig } from '../server/feature-server-config.js'

export const CONFIG_FILE_NAME = 'feature_store.yaml'

export interface LoadConfigOptions {
  /** The feature repository (a folder holding feature_store.yaml). Default: the working directory. */
  readonly repoPath?: string
  /** An explicit config file, overriding `<repoPath>/feature_store.yaml` (Feast's `-f`). */
  readonly configPath?: string
  readonly env?: NodeJS.ProcessEnv
}

/** Reads, interpolates and validates feature_store.yaml. Every problem is reported at once. */
export function loadRepoConfig(options: LoadConfigOptions = {}): RepoConfig {
  const repoPath = resolve(options.repoPath ?? process.cwd())
  const configPath = options.configPath ? resolve(options.configPath) : join(repoPath, CONFIG_FILE_NAME)
  let text: string
  try {
    if (!statSync(repoPath).isDirectory()) throw new Error('not a directory')
    text = readFileSync(configPath, 'utf8')
  } catch (err) {
    throw new MorselError(
      'MORSEL_CONFIG_INVALID',
      `No ${CONFIG_FILE_NAME} at ${configPath}. Run morsel in a feature repository, pass -c/--chdir REPO, or create one with \`morsel init\`.`,
      { cause: err },
    )
  }
  return parseRepoConfig(text, { repoPath, configPath, env: options.env ?? process.env })
}

export function parseRepoConfig(
  text: string,
  where: { readonly repoPath: string; readonly configPath: string; readonly env?: NodeJS.ProcessEnv },
): RepoConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true })
  if (doc.errors.length > 0) {
    throw new MorselError('MORSEL_CONFIG_INVALID', `${where.configPath} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`)
  }
  const raw: unknown = doc.toJS()
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MorselError('MORSEL_CONFIG_INVALID', `${where.configPath} must be a YAML mapping with at least \`project\` and \`registry\`.`)
  }
  const typed: TypedSubstitutions = new Map()
  const interpolated = substituteEnvDeep(raw, '', where.env, typed)
  let parsed = repoConfigSchema.safeParse(interpolated)
  if (!parsed.success && typed.size > 0) {
    // A variable that read as a number (or boolean, null) where a string belongs is text after all.
    let reverted = false
    for (const path of stringsExpected(parsed.error.issues, [])) {
      const text = typed.get(keyPath(path))
      if (text !== undefined) {
        setAt(interpolated, path, text)
        reverted = true
      }
    }
    if (reverted) parsed = repoConfigSchema.safeParse(interpolated)
  }
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => describeIssue(issue, interpolated))
    throw new MorselError('MORSEL_CONFIG_INVALID', `${where.configPath} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      details: { problems },
    })
  }
  const c = parsed.data
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(where.repoPath, p))
  return deepFreeze({
    project: c.project,
    projectDescription: c.project_description ?? '',
    provider: c.provider,
    repoPath: where.repoPath,
    configPath: where.configPath,
    registry: { registryType: c.registry.registry_type, path: abs(c.registry.path), cacheTtlSeconds: c.registry.cache_ttl_seconds },
    onlineStore: c.online_store,
    offlineStore: c.offline_store,
    entityKeySerializationVersion: c.entity_key_serialization_version,
    materialization: { onlineWriteBatchSize: c.materialization.online_write_batch_size },
    featureServer: resolveFeatureServerConfig(c.feature_server, where.repoPath),
  })
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  const path = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(repoConfigSchema, issue.path.map(String), value)
    return issue.keys
      .map((k) => `${path ? `${path}.` : ''}${k}: unknown key.${didYouMean(k, known)}${known.length ? ` Known keys here: ${known.join(', ')}.` : ''}`)
      .join('\n  - ')
  }
  if (issue.code === 'invalid_union' && path.endsWith('store')) {
    return `${path}: unknown or invalid \`type\`. ${issue.message}`
  }
  return `${path || '(top level)'}: ${issue.message}`
}

/** The keys a (possibly wrapped) zod object accepts at `path`, for suggestions. */
function knownKeysAt(schema: z.ZodType, path: readonly string[], value: unknown): string[] {
  let current: unknown = schema
  let v = value
  const unwrap = (s: unknown): unknown[] => {
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def
    if (!def) return []
    switch (def.type) {
      case 'object':
        return [s]
      case 'default':
      case 'optional':
      case 'nullable':
        return unwrap(def.innerType)
      case 'pipe':
        return unwrap(def.out)
      case 'union':
        return (def.options as unknown[]).flatMap(unwrap)
      default:
        return []
    }
  }
  const objects = (s: unknown): Array<{ shape: Record<string, unknown> }> =>
    unwrap(s).filter((o): o is { shape: Record<string, unknown> } => typeof (o as { shape?: unknown }).shape === 'object')
  for (const key of path) {
    const objs = objects(current)
    const typed = objs.filter((o) => {
      const t = (v as { type?: unknown } | undefined)?.type
      const lit = (o.shape.type as { _zod?: { def?: { values?: unknown[] } } } | undefined)?._zod?.def?.values
      return t === undefined || lit === undefined || lit.includes(t)
    })
    current = (typed[0] ?? objs[0])?.shape[key]
    v = (v as Record<string, unknown> | undefined)?.[key]
    if (current === undefined) return []
  }
  const objs = objects(current)
  const t = (v as { type?: unknown } | undefined)?.type
  const match = objs.filter((o) => {
    const lit = (o.shape.type as { _zod?: { def?: { values?: unknown[] } } } | undefined)?._zod?.def?.values
    return t === undefined || lit === undefined || lit.includes(t)
  })
  return [...new Set((match.length ? match : objs).flatMap((o) => Object.keys(o.shape)))]
}

/** Paths where a string was expected, also inside the alternatives of a union (the store forms). */
function stringsExpected(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): PropertyKey[][] {
  const out: PropertyKey[][] = []
  for (const issue of issues) {
    const path = [...prefix, ...issue.path]
    if (issue.code === 'invalid_type' && issue.expected === 'string') out.push(path)
    if (issue.code === 'invalid_union') for (const alternative of issue.errors) out.push(...stringsExpected(alternative, path))
  }
  return out
}

/** A key path written as substituteEnvDeep names it: `a.b[0].c`. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '')
}

function setAt(root: unknown, path: readonly PropertyKey[], value: unknown): void {
  let node = root as Record<PropertyKey, unknown>
  for (const key of path.slice(0, -1)) node = node[key] as Record<PropertyKey, unknown>
  node[path[path.length - 1]!] = value
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}
