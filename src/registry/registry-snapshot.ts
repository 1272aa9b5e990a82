import type {
  DataSourceSpec,
  EntitySpec,
  FeatureServiceSpec,
  FeatureViewSpec,
  OnDemandFeatureViewSpec,
} from '../definitions/specs.js'
import { MorselError, didYouMean } from '../errors/index.js'
import type { ProjectState, Registered, ViewMaterialization } from './registry-document.js'

/**
 * One project's registered definitions at one registry version: immutable, with lookups by name.
 * Everything derived from the registry (compiled read plans) is cached per snapshot, so a new
 * apply is picked up by swapping the snapshot, never by invalidating caches one by one.
 */
export class RegistrySnapshot {
  readonly project: string
  readonly version: number
  readonly versionId: string
  readonly state: ProjectState | undefined
  readonly entities: ReadonlyMap<string, EntitySpec>
  readonly dataSources: ReadonlyMap<string, DataSourceSpec>
  readonly featureViews: ReadonlyMap<string, FeatureViewSpec>
  readonly onDemandFeatureViews: ReadonlyMap<string, OnDemandFeatureViewSpec>
  readonly featureServices: ReadonlyMap<string, FeatureServiceSpec>

  constructor(project: string, version: number, versionId: string, state: ProjectState | undefined) {
    this.project = project
    this.version = version
    this.versionId = versionId
    this.state = state
    this.entities = specs(state?.entities)
    this.dataSources = specs(state?.dataSources)
    this.featureViews = specs(state?.featureViews)
    this.onDemandFeatureViews = specs(state?.onDemandFeatureViews)
    this.featureServices = specs(state?.featureServices)
  }

  /** Identifies the project's definitions; unchanged by materialization history (see ProjectState). */
  get definitionsId(): string {
    return this.state?.definitionsId ?? ''
  }

  /** True when the project was never applied. */
  get isEmpty(): boolean {
    return this.state === undefined
  }

  getFeatureView(name: string): FeatureViewSpec {
    const v = this.featureViews.get(name)
    if (v === undefined) throw this.#unknownView(name)
    return v
  }

  /** A feature view or an on-demand feature view, or an error naming near matches. */
  getAnyView(name: string): { readonly kind: 'featureView'; readonly spec: FeatureViewSpec } | { readonly kind: 'onDemand'; readonly spec: OnDemandFeatureViewSpec } {
    const v = this.featureViews.get(name)
    if (v !== undefined) return { kind: 'featureView', spec: v }
    const o = this.onDemandFeatureViews.get(name)
    if (o !== undefined) return { kind: 'onDemand', spec: o }
    throw this.#unknownView(name)
  }

  getFeatureService(name: string): FeatureServiceSpec {
    const s = this.featureServices.get(name)
    if (s === undefined) {
      throw new MorselError(
        'MORSEL_FEATURE_SERVICE_NOT_FOUND',
        `Feature service '${name}' is not registered in project '${this.project}'.${didYouMean(name, this.featureServices.keys())}${this.#applyHint()}`,
        { details: { featureService: name } },
      )
    }
    return s
  }

  getEntity(name: string): EntitySpec {
    const e = this.entities.get(name)
    if (e === undefined) {
      throw new MorselError('MORSEL_NOT_FOUND', `Entity '${name}' is not registered in project '${this.project}'.${didYouMean(name, this.entities.keys())}`)
    }
    return e
  }

  getDataSource(name: string): DataSourceSpec {
    const s = this.dataSources.get(name)
    if (s === undefined) {
      throw new MorselError('MORSEL_NOT_FOUND', `Data source '${name}' is not registered in project '${this.project}'.${didYouMean(name, this.dataSources.keys())}`)
    }
    return s
  }

  materialization(view: string): ViewMaterialization {
    return this.state?.materializations[view] ?? { intervals: [] }
  }

  #unknownView(name: string): MorselError {
    const all = [...this.featureViews.keys(), ...this.onDemandFeatureViews.keys()]
    return new MorselError(
      'MORSEL_FEATURE_NOT_FOUND',
      `Feature view '${name}' is not registered in project '${this.project}'.${didYouMean(name, all)}${this.#applyHint()}`,
      { details: { featureView: name } },
    )
  }

  #applyHint(): string {
    return this.isEmpty ? ' The project has not been applied yet: run `morsel apply`.' : ''
  }
}

function specs<S>(record: Readonly<Record<string, Registered<S>>> | undefined): ReadonlyMap<string, S> {
  return new Map(Object.entries(record ?? {}).map(([k, v]) => [k, v.spec]))
}
