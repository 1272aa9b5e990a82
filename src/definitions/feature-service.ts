import { MorselError } from '../errors/index.js'
import { KIND, checkName, commonSpec, kindOf, type CommonOptions } from './common.js'
import { describe, type FeatureView, type FeatureViewProjection, type UnionToIntersection } from './feature-view.js'
import type { OnDemandFeatureView } from './on-demand-feature-view.js'
import type { FeatureProjectionSpec, FeatureServiceSpec } from './specs.js'

export type ServiceMember = FeatureView | FeatureViewProjection | OnDemandFeatureView

type NameOf<X> = X extends { readonly spec: { readonly name: infer N } } ? N : X extends FeatureViewProjection<infer N> ? N : never
type FeaturesOf<X> = X extends { readonly __features?: infer F } ? NonNullable<F> : never
type KeysOf<X> = X extends { readonly __keys?: infer K } ? NonNullable<K> : Record<never, never>
type Prefixed<N extends string, F> = { [K in keyof F & string as `${N}__${K}`]: F[K] }

/** A service's row with plain feature names (`fullFeatureNames: false`). */
export type ServiceFeatures<M extends readonly ServiceMember[]> = UnionToIntersection<FeaturesOf<M[number]>>
/** A service's row with `view__feature` names (`fullFeatureNames: true`). */
export type ServiceFullFeatures<M extends readonly ServiceMember[]> = UnionToIntersection<
  M[number] extends infer X ? (X extends unknown ? Prefixed<NameOf<X> & string, FeaturesOf<X>> : never) : never
>
export type ServiceKeys<M extends readonly ServiceMember[]> = UnionToIntersection<KeysOf<M[number]>>

export interface FeatureServiceOptions<N extends string, M extends readonly ServiceMember[]> extends CommonOptions {
  readonly name: N
  /** Whole views, `.select()`ed parts of views, and on-demand views. */
  readonly features: M
}

/**
 * The named set of features a model consumes, so that training and serving ask for the same thing.
 *
 * @example
 * export const creditModel = new FeatureService({ name: 'credit_model_v1', features: [zipcodeFeatures, creditHistory] })
 */
export class FeatureService<N extends string = string, M extends readonly ServiceMember[] = readonly ServiceMember[]> {
  readonly [KIND] = 'featureService' as const
  readonly spec: FeatureServiceSpec
  readonly members: M
  declare readonly __row?: ServiceFeatures<M>
  declare readonly __fullRow?: ServiceFullFeatures<M>
  declare readonly __keys?: ServiceKeys<M>

  constructor(options: FeatureServiceOptions<N, M>) {
    const name = checkName('FeatureService', options.name)
    const what = `FeatureService '${name}'`
    const members = (options.features as readonly unknown[] | undefined) ?? []
    if (!Array.isArray(members) || members.length === 0) {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: \`features\` must list at least one feature view.`)
    }
    const projections: FeatureProjectionSpec[] = members.map((m) => {
      switch (kindOf(m)) {
        case 'featureView':
        case 'onDemandFeatureView': {
          const v = m as FeatureView | OnDemandFeatureView
          return { view: v.spec.name, features: v.spec.features.map((f) => f.name) }
        }
        case 'featureViewProjection': {
          const p = m as FeatureViewProjection
          return { view: p.view.spec.name, features: [...p.features] }
        }
        default:
          throw new MorselError(
            'MORSEL_DEFINITION_INVALID',
            `${what}: features must be FeatureViews, their .select() projections, or OnDemandFeatureViews (got ${describe(m)}).`,
          )
      }
    })
    const seen = new Set<string>()
    for (const p of projections) {
      if (seen.has(p.view)) {
        throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: view '${p.view}' is listed twice; select all its features in one entry.`)
      }
      seen.add(p.view)
    }
    this.members = options.features
    this.spec = Object.freeze({ name, projections: Object.freeze(projections), ...commonSpec(what, options) })
  }

  get name(): N {
    return this.spec.name as N
  }
}
