import { parse as parseYaml } from 'yaml'
import { MorselError } from '../errors/index.js'

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/

/**
 * Replaces `${VAR}` and `${VAR:-default}` in a string. An unset variable without a default is an
 * error naming it: Feast's silent empty string turns a forgotten password into a confusing
 * connection failure much later.
 */
export function substituteEnv(text: string, where: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(PATTERN, (_match, name: string, fallback: string | undefined) => {
    const value = env[name]
    if (value !== undefined && value !== '') return value
    if (fallback !== undefined) return fallback
    throw new MorselError(
      'MORSEL_CONFIG_INVALID',
      `${where} uses \${${name}}, but the environment variable ${name} is not set. Set it, or write \${${name}:-default}.`,
      { details: { variable: name } },
    )
  })
}

/**
 * Strings that became a number, boolean or null because a whole value was one variable, by key
 * path, with the text substituted: where the schema wants a string after all (a password of
 * digits), the text is put back.
 */
export type TypedSubstitutions = Map<string, string>

/**
 * Applies `substituteEnv` to every string value of a parsed YAML document (keys are left alone),
 * naming the key path in errors. A value that is exactly one `${VAR}` is read as a YAML scalar
 * once substituted, as if the text had been written there (Feast substitutes before parsing), so
 * `port: ${PORT}` is a number and `enabled: ${FLAG:-false}` a boolean. Typed substitutions are
 * recorded in `typed` so the caller can turn them back into text where a string is expected.
 */
export function substituteEnvDeep(value: unknown, path: string, env: NodeJS.ProcessEnv = process.env, typed?: TypedSubstitutions): unknown {
  if (typeof value === 'string') {
    const text = substituteEnv(value, path, env)
    if (!WHOLE.test(value)) return text
    const scalar = readScalar(text)
    if (typeof scalar !== 'string') typed?.set(path, text)
    return scalar
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnvDeep(v, `${path}[${i}]`, env, typed))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnvDeep(v, path ? `${path}.${k}` : k, env, typed)
    return out
  }
  return value
}

/** A number, boolean or null when the text reads as one in YAML; otherwise the text, unchanged. */
function readScalar(text: string): unknown {
  if (text.trim() === '') return text
  try {
    const v: unknown = parseYaml(text)
    return v === null || typeof v === 'number' || typeof v === 'boolean' ? v : text
  } catch {
    return text
  }
}
