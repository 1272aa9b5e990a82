import { MorselError } from '../errors/index.js'
import { KIND, checkName, commonSpec, durationSeconds, kindOf, schemaToFields, type CommonOptions, type Duration, type RowOf, type SchemaDef } from './common.js'
import type { FileSource, PushSource } from './data-source.js'
import type { Entity } from './entity.js'
import type { FeatureViewSpec, FieldSpec } from './specs.js'

type AnyEntity = Entity<string, string, never> | Entity

export type JoinKeyOf<E> = E extends Entity<string, infer J, infer _D> ? J : never
/** `{ zipcode: number }` for a view over the `zipcode` entity. */
export type EntityKeyRowOf<E extends readonly AnyEntity[]> = UnionToIntersection<
  E[number] extends infer X ? (X extends { readonly __key?: infer K } ? NonNullable<K> : never) : never
>
export type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never

export interface FeatureViewOptions<N extends string, E extends readonly AnyEntity[], S extends SchemaDef> extends CommonOptions {
  readonly name: N
  /** The entities the view is keyed by; several entities make a composite key. */
  readonly entities: E
  /** Feature columns, and optionally the join-key columns (which must match the entities' types). */
  readonly schema: S
  readonly source: FileSource | PushSource
  /**
   * How long a value stays valid after its event time: the look-back window of training sets, and
   * the age past which online reads say OUTSIDE_MAX_AGE. 0 or omitted: no limit.
   */
  readonly ttl?: Duration
  /** Whether the view is materialized to and served from the online store. Default true. */
  readonly online?: boolean
}

/**
 * A group of features read from one source and keyed by the same entities.
 *
 * @example
 * export const zipcodeFeatures = new FeatureView({
 *   name: 'zipcode_features', entities: [zipcode], ttl: { days: 3650 }, source: zipcodeSource,
 *   schema: { city: types.String, population: types.Int64 },
 * })
 */
export class FeatureView<N extends string = string, E extends readonly AnyEntity[] = readonly AnyEntity[], S extends SchemaDef = SchemaDef> {
  readonly [KIND] = 'featureView' as const
  readonly spec: FeatureViewSpec
  /** The objects this view refers to, so that registering the view registers them too. */
  readonly entities: E
  readonly source: FileSource | PushSource
  declare readonly __features?: Omit<RowOf<S>, JoinKeyOf<E[number]>>
  declare readonly __keys?: EntityKeyRowOf<E>

  constructor(options: FeatureViewOptions<N, E, S>) {
    const name = checkName('FeatureView', options.name)
    const what = `FeatureView '${name}'`
    const entities = (options.entities as readonly unknown[] | undefined) ?? []
    if (!Array.isArray(entities) || entities.length === 0) {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: \`entities\` must list at least one Entity.`)
    }
    for (const e of entities) {
      if (kindOf(e) !== 'entity') {
        throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: every item of \`entities\` must be an Entity (got ${describe(e)}).`)
      }
    }
    const ents = entities as readonly Entity[]
    const seen = new Set<string>()
    for (const e of ents) {
      if (seen.has(e.spec.joinKey)) {
        throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: two entities share the join key '${e.spec.joinKey}'.`)
      }
      seen.add(e.spec.joinKey)
    }
    const sourceKind = kindOf(options.source)
    if (sourceKind !== 'fileSource' && sourceKind !== 'pushSource') {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: \`source\` must be a FileSource or PushSource (got ${describe(options.source)}).`)
    }
    const columns = schemaToFields(what, options.schema)
    const features: FieldSpec[] = []
    const entityColumns: FieldSpec[] = ents.map((e) => ({
      name: e.spec.joinKey,
      dtype: e.spec.dtype,
      valueType: e.spec.valueType,
      description: e.spec.description,
      tags: {},
    }))
    for (const col of columns) {
      const entity = ents.find((e) => e.spec.joinKey === col.name)
      if (entity === undefined) {
        features.push(col)
      } else if (entity.spec.valueType !== col.valueType) {
        throw new MorselError(
          'MORSEL_DEFINITION_INVALID',
          `${what}: column '${col.name}' is declared ${col.dtype} but entity '${entity.spec.name}' has type ${entity.spec.dtype}; make them agree.`,
        )
      }
    }
    if (features.length === 0) {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: the schema declares no feature columns.`)
    }
    const ttlSeconds = durationSeconds(what, options.ttl)
    this.entities = options.entities
    this.source = options.source
    this.spec = Object.freeze({
      name,
      entities: Object.freeze(ents.map((e) => e.spec.name)),
      entityColumns: Object.freeze(entityColumns),
      features: Object.freeze(features),
      ttlSeconds,
      online: options.online ?? true,
      source: options.source.spec.name,
      ...commonSpec(what, options),
    })
  }

  get name(): N {
    return this.spec.name as N
  }

  /**
   * A subset of this view's features, for a feature service (Feast's `view[["a", "b"]]`).
   *
   * @example
   * new FeatureService({ name: 'model_v1', features: [creditHistory.select(['credit_card_due', 'bankruptcies'])] })
   */
  select<const K extends keyof Omit<RowOf<S>, JoinKeyOf<E[number]>> & string>(
    features: readonly K[],
  ): FeatureViewProjection<N, Pick<Omit<RowOf<S>, JoinKeyOf<E[number]>>, K>, EntityKeyRowOf<E>> {
    return new FeatureViewProjection(this, features)
  }
}

/** Some features of a view, as chosen by `FeatureView.select`. */
export class FeatureViewProjection<N extends string = string, F = Record<string, unknown>, Keys = unknown> {
  readonly [KIND] = 'featureViewProjection' as const
  readonly view: FeatureView
  readonly features: readonly string[]
  declare readonly __name?: N
  declare readonly __features?: F
  declare readonly __keys?: Keys

  constructor(view: FeatureView<N>, features: readonly string[]) {
    const list: readonly string[] = features
    const names = new Set(view.spec.features.map((f) => f.name))
    if (!isStringList(list) || list.length === 0) {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${view.spec.name}.select(): give at least one feature name.`)
    }
    for (const f of list) {
      if (!names.has(f)) {
        throw new MorselError(
          'MORSEL_DEFINITION_INVALID',
          `${view.spec.name}.select(): '${f}' is not a feature of view '${view.spec.name}' (it has ${[...names].join(', ')}).`,
        )
      }
    }
    if (new Set(list).size !== list.length) {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${view.spec.name}.select(): a feature is listed twice.`)
    }
    this.view = view
    this.features = Object.freeze([...list])
  }
}

export function describe(x: unknown): string {
  const k = kindOf(x)
  if (k) return k
  if (x === null) return 'null'
  if (Array.isArray(x)) return 'an array'
  return typeof x
}

function isStringList(x: unknown): x is readonly string[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'string')
}
