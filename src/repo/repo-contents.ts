import type {
  DataSourceSpec,
  EntitySpec,
  FeatureServiceSpec,
  FeatureViewSpec,
  OnDemandFeatureViewSpec,
} from '../definitions/specs.js'

/** Everything a feature repository defines, as specs, plus the on-demand functions by view name. */
export interface RepoContents {
  readonly entities: readonly EntitySpec[]
  readonly dataSources: readonly DataSourceSpec[]
  readonly featureViews: readonly FeatureViewSpec[]
  readonly onDemandFeatureViews: readonly OnDemandFeatureViewSpec[]
  readonly featureServices: readonly FeatureServiceSpec[]
  /** The TypeScript functions of on-demand feature views; they cannot live in the registry. */
  readonly udfs: ReadonlyMap<string, OnDemandUdf>
  /** Where each object was defined (`kind:name` → file), for messages. */
  readonly origins: ReadonlyMap<string, string>
}

export type OnDemandUdf = (inputs: Record<string, unknown>) => Record<string, unknown>
