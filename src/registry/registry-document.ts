import type {
  DataSourceSpec,
  EntitySpec,
  FeatureServiceSpec,
  FeatureViewSpec,
  OnDemandFeatureViewSpec,
} from '../definitions/specs.js'

/**
 * The registry: every project's applied definitions and materialization history, as one JSON
 * document. Times are RFC 3339 strings; `version` increases by one with every committed change,
 * and is what concurrent writers are checked against.
 */
export interface RegistryDocument {
  readonly formatVersion: 1
  readonly version: number
  /** Changes with every commit; lets a reader tell two documents with the same version apart. */
  readonly versionId: string
  readonly lastUpdated: string
  readonly projects: Readonly<Record<string, ProjectState>>
}

export interface Registered<S> {
  readonly spec: S
  readonly createdTimestamp: string
  readonly lastUpdatedTimestamp: string
}

export interface MaterializationInterval {
  readonly start: string
  readonly end: string
}

export interface MaterializationRun {
  readonly start: string
  readonly end: string
  readonly rows: number
  readonly written: number
  readonly durationMs: number
  readonly finishedAt: string
}

export interface ViewMaterialization {
  /** Disjoint, sorted windows already written online (overlapping runs are merged). */
  readonly intervals: readonly MaterializationInterval[]
  readonly lastRun?: MaterializationRun
  /**
   * The online store the windows were written to (`onlineStoreTarget`): the windows hold only for
   * it. Absent in registries written before it was recorded.
   */
  readonly onlineStore?: string
}

export interface ProjectState {
  readonly description: string
  readonly createdTimestamp: string
  readonly lastUpdatedTimestamp: string
  readonly entities: Readonly<Record<string, Registered<EntitySpec>>>
  readonly dataSources: Readonly<Record<string, Registered<DataSourceSpec>>>
  readonly featureViews: Readonly<Record<string, Registered<FeatureViewSpec>>>
  readonly onDemandFeatureViews: Readonly<Record<string, Registered<OnDemandFeatureViewSpec>>>
  readonly featureServices: Readonly<Record<string, Registered<FeatureServiceSpec>>>
  /** Per feature view. */
  readonly materializations: Readonly<Record<string, ViewMaterialization>>
  /**
   * Changes whenever the project's definitions change (apply), never with materialization history:
   * concurrent applies are checked against it, and compiled read plans live as long as it does.
   */
  readonly definitionsId?: string
  /** Online data of deleted or re-keyed views still to be removed; the next apply or teardown retries. */
  readonly pendingOnlineDeletes?: readonly PendingOnlineDelete[]
}

export interface PendingOnlineDelete {
  readonly name: string
  readonly joinKeys: readonly string[]
  readonly features: readonly string[]
}

export function emptyDocument(): RegistryDocument {
  return { formatVersion: 1, version: 0, versionId: '', lastUpdated: new Date(0).toISOString(), projects: {} }
}

export function emptyProject(now: string, description = ''): ProjectState {
  return {
    description,
    createdTimestamp: now,
    lastUpdatedTimestamp: now,
    entities: {},
    dataSources: {},
    featureViews: {},
    onDemandFeatureViews: {},
    featureServices: {},
    materializations: {},
  }
}

/** Adds a window to a view's history, merging it with windows it overlaps or touches. */
export function addInterval(intervals: readonly MaterializationInterval[], added: MaterializationInterval): MaterializationInterval[] {
  const all = [...intervals, added].map((i) => ({ s: Date.parse(i.start), e: Date.parse(i.end) })).sort((a, b) => a.s - b.s)
  const merged: Array<{ s: number; e: number }> = []
  for (const i of all) {
    const last = merged[merged.length - 1]
    if (last !== undefined && i.s <= last.e) last.e = Math.max(last.e, i.e)
    else merged.push({ ...i })
  }
  return merged.map((m) => ({ start: new Date(m.s).toISOString(), end: new Date(m.e).toISOString() }))
}
