import { createHash } from 'node:crypto'
import { MorselError } from '../errors/index.js'
import { KIND, checkName, commonSpec, kindOf, schemaToFields, type CommonOptions, type RowOf, type SchemaDef } from './common.js'
import type { RequestSource } from './data-source.js'
import { describe, type FeatureView, type FeatureViewProjection, type UnionToIntersection } from './feature-view.js'
import type { OnDemandFeatureViewSpec, OnDemandSourceSpec } from './specs.js'

type OnDemandInput = FeatureView | FeatureViewProjection | RequestSource

type InputOf<X> = X extends { readonly __features?: infer F }
  ? NonNullable<F>
  : X extends RequestSource<infer S>
    ? RowOf<S>
    : never
/** The row an on-demand function receives: every feature of its views and every request field, by plain name. */
export type OnDemandInputRow<Src extends readonly OnDemandInput[]> = UnionToIntersection<InputOf<Src[number]>>

export interface OnDemandFeatureViewOptions<N extends string, Src extends readonly OnDemandInput[], S extends SchemaDef> extends CommonOptions {
  readonly name: N
  /** Feature views (or selections of them) and request sources the function reads. */
  readonly sources: Src
  /** The features the function returns. */
  readonly schema: S
  /**
   * Derives the output features of one row from its inputs. It runs in process on every online
   * read and on every row of a training set, so keep it pure and fast; inputs may be null.
   */
  readonly udf: (inputs: OnDemandInputRow<Src>) => RowOf<S>
}

/**
 * Features computed at request time from other features and request data (Feast's
 * `@on_demand_feature_view`), with a TypeScript function.
 *
 * @example
 * export const debtToIncome = new OnDemandFeatureView({
 *   name: 'debt_to_income', sources: [creditHistory, loanRequest], schema: { dti: types.Float64 },
 *   udf: (r) => ({ dti: r.person_income ? (r.credit_card_due ?? 0) / r.person_income : null }),
 * })
 */
export class OnDemandFeatureView<N extends string = string, Src extends readonly OnDemandInput[] = readonly OnDemandInput[], S extends SchemaDef = SchemaDef> {
  readonly [KIND] = 'onDemandFeatureView' as const
  readonly spec: OnDemandFeatureViewSpec
  readonly sources: Src
  readonly udf: (inputs: Record<string, unknown>) => Record<string, unknown>
  declare readonly __features?: RowOf<S>

  constructor(options: OnDemandFeatureViewOptions<N, Src, S>) {
    const name = checkName('OnDemandFeatureView', options.name)
    const what = `OnDemandFeatureView '${name}'`
    if (typeof options.udf !== 'function') {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: \`udf\` must be a function from the input row to the output features.`)
    }
    const sources = (options.sources as readonly unknown[] | undefined) ?? []
    if (!Array.isArray(sources) || sources.length === 0) {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `${what}: \`sources\` must list at least one feature view or request source.`)
    }
    const sourceSpecs: OnDemandSourceSpec[] = sources.map((s) => {
      switch (kindOf(s)) {
        case 'featureView': {
          const v = s as FeatureView
          return { kind: 'featureView', name: v.spec.name, features: v.spec.features.map((f) => f.name) }
        }
        case 'featureViewProjection': {
          const p = s as FeatureViewProjection
          return { kind: 'featureView', name: p.view.spec.name, features: [...p.features] }
        }
        case 'requestSource':
          return { kind: 'request', name: (s as RequestSource).spec.name }
        default:
          throw new MorselError(
            'MORSEL_DEFINITION_INVALID',
            `${what}: sources must be FeatureViews, their .select() projections, or RequestSources (got ${describe(s)}).`,
          )
      }
    })
    const udfSource = options.udf.toString()
    this.sources = options.sources
    this.udf = options.udf as unknown as (inputs: Record<string, unknown>) => Record<string, unknown>
    this.spec = Object.freeze({
      name,
      sources: Object.freeze(sourceSpecs),
      features: Object.freeze(schemaToFields(what, options.schema)),
      udfSource,
      udfHash: createHash('sha256').update(udfSource).digest('hex'),
      ...commonSpec(what, options),
    })
  }

  get name(): N {
    return this.spec.name as N
  }
}
