import { MorselError } from '../errors/index.js'

const PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

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

/** Applies `substituteEnv` to every string in a parsed YAML document, naming the key path in errors. */
export function substituteEnvDeep(value: unknown, path: string, env: NodeJS.ProcessEnv = process.env): unknown {
  if (typeof value === 'string') return substituteEnv(value, path, env)
  if (Array.isArray(value)) return value.map((v, i) => substituteEnvDeep(v, `${path}[${i}]`, env))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnvDeep(v, path ? `${path}.${k}` : k, env)
    return out
  }
  return value
}
