import { MorselError } from '../errors/index.js'
import { isDType, type DType, type ValueOf } from '../types/dtypes.js'
import type { FieldSpec } from './specs.js'

/**
 * Definitions carry their kind under a global symbol rather than relying on `instanceof`: the
 * repository loader imports definition files in its own module graph, so the classes it sees are
 * not always the very ones the caller imported.
 */
export const KIND: unique symbol = Symbol.for('morsel.definition.kind') as never

export type DefinitionKind =
  | 'entity'
  | 'fileSource'
  | 'pushSource'
  | 'requestSource'
  | 'featureView'
  | 'featureViewProjection'
  | 'onDemandFeatureView'
  | 'featureService'

export function kindOf(x: unknown): DefinitionKind | undefined {
  if (typeof x !== 'object' || x === null) return undefined
  const k = (x as { [KIND]?: unknown })[KIND]
  return typeof k === 'string' ? (k as DefinitionKind) : undefined
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Object and column names: identifiers, so they survive `view:feature`, `view__feature` and SQL. */
export function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new MorselError(
      'MORSEL_DEFINITION_INVALID',
      `${what} name ${JSON.stringify(name)} is not valid: use letters, digits and underscores, not starting with a digit.`,
    )
  }
  return name
}

export interface CommonOptions {
  readonly description?: string
  readonly tags?: Readonly<Record<string, string>>
  readonly owner?: string
}

export function commonSpec(what: string, o: CommonOptions): { description: string; tags: Readonly<Record<string, string>>; owner: string } {
  const tags = o.tags ?? {}
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== 'string') {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: tag '${k}' must be a string, got ${typeof v}.`)
    }
  }
  return Object.freeze({ description: o.description ?? '', tags: Object.freeze({ ...tags }), owner: o.owner ?? '' })
}

/** A schema column: a bare type, or a type with a description and tags. */
export interface FieldOptions<D extends DType = DType> {
  readonly dtype: D
  readonly description?: string
  readonly tags?: Readonly<Record<string, string>>
}
export type SchemaDef = Readonly<Record<string, DType | FieldOptions>>

type DTypeOf<F> = F extends FieldOptions<infer D> ? D : F
/** The TypeScript row a schema describes; every value may be null. */
export type RowOf<S extends SchemaDef> = { -readonly [K in keyof S]: ValueOf<DTypeOf<S[K]>> | null }

export function schemaToFields(what: string, schema: SchemaDef | undefined): FieldSpec[] {
  if (schema === undefined || typeof schema !== 'object' || schema === null) {
    throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: \`schema\` is required: an object of column name to type, e.g. { city: types.String }.`)
  }
  return Object.entries(schema).map(([name, f]) => {
    checkName(`${what}: column`, name)
    const opts: FieldOptions = isDType(f) ? { dtype: f } : (f)
    if (!isDType(opts.dtype)) {
      throw new MorselError(
        'MORSEL_DEFINITION_INVALID',
        `${what}: column '${name}' has no valid type; use one of types.Int64, types.String, types.Array(types.Float32) …`,
      )
    }
    return Object.freeze({
      name,
      dtype: opts.dtype.name,
      valueType: opts.dtype.valueType,
      description: opts.description ?? '',
      tags: Object.freeze({ ...(opts.tags ?? {}) }),
    })
  })
}

/** A ttl: seconds, or a duration object. */
export type Duration =
  | number
  | { readonly days?: number; readonly hours?: number; readonly minutes?: number; readonly seconds?: number }

export function durationSeconds(what: string, d: Duration | undefined): number {
  if (d === undefined) return 0
  const seconds =
    typeof d === 'number'
      ? d
      : (d.days ?? 0) * 86_400 + (d.hours ?? 0) * 3_600 + (d.minutes ?? 0) * 60 + (d.seconds ?? 0)
  if (!Number.isFinite(seconds)) {
    throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: ttl must be a finite duration, got ${JSON.stringify(d)}.`)
  }
  if (seconds < 0) {
    throw new MorselError(
      'MORSEL_DEFINITION_INVALID',
      `${what}: ttl must not be negative (got ${seconds} s). Use 0 for no limit, or a positive duration such as { days: 90 }.`,
    )
  }
  return seconds
}
