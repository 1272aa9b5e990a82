/**
 * The JSON the console's API answers with, shared by the server (src/server/console/) and the
 * page (console/). Types only: the page's bundle imports nothing else from the server. Times are
 * RFC 3339 strings or epoch milliseconds, as named.
 */

export type StatusName = 'INVALID' | 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE'

export interface ConsoleOverview {
  readonly project: string
  readonly description: string
  readonly registryVersion: number
  readonly registryUpdated: string | null
  readonly onlineStore: { readonly type: string; readonly ok: boolean | null; readonly detail: string | null; readonly checkedLatencyMs: number | null }
  readonly offlineStore: string
  readonly auth: 'none' | 'api_key' | 'jwt'
  readonly principal: string
  readonly counts: {
    readonly entities: number
    readonly featureViews: number
    readonly onDemandFeatureViews: number
    readonly featureServices: number
    readonly dataSources: number
  }
  readonly serverStartedAt: string
  readonly sampleIntervalMs: number
  /** Paths of the repository's apps (`feature_server.apps`). */
  readonly apps: readonly string[]
}

export interface ConsoleField {
  readonly name: string
  readonly dtype: string
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
}

export interface ConsoleEntity {
  readonly name: string
  readonly joinKey: string
  readonly dtype: string
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
  readonly created: string
  readonly updated: string
  /** Feature views keyed by this entity. */
  readonly featureViews: readonly string[]
}

export type ConsoleSource =
  | {
      readonly kind: 'file'
      readonly name: string
      readonly path: string
      readonly format: string
      readonly timestampField: string
      readonly createdTimestampColumn: string
      readonly fieldMapping: Readonly<Record<string, string>>
      readonly description: string
      readonly tags: Readonly<Record<string, string>>
    }
  | {
      readonly kind: 'push'
      readonly name: string
      readonly batchSource: { readonly name: string; readonly path: string; readonly format: string; readonly timestampField: string }
      readonly description: string
      readonly tags: Readonly<Record<string, string>>
    }
  | { readonly kind: 'request'; readonly name: string; readonly schema: readonly ConsoleField[]; readonly description: string; readonly tags: Readonly<Record<string, string>> }
  | { readonly kind: 'missing'; readonly name: string }

export interface ConsoleMaterialization {
  readonly intervals: ReadonlyArray<{ readonly start: string; readonly end: string }>
  readonly lastRun: {
    readonly start: string
    readonly end: string
    readonly rows: number
    readonly written: number
    readonly durationMs: number
    readonly finishedAt: string
  } | null
}

export interface ConsoleFeatureView {
  readonly name: string
  readonly entities: readonly string[]
  readonly joinKeys: readonly ConsoleField[]
  readonly features: readonly ConsoleField[]
  /** 0: no limit. */
  readonly ttlSeconds: number
  readonly online: boolean
  readonly source: ConsoleSource
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
  readonly created: string
  readonly updated: string
  readonly materialization: ConsoleMaterialization
  readonly featureServices: readonly string[]
  readonly onDemandFeatureViews: readonly string[]
}

export interface ConsoleOnDemandView {
  readonly name: string
  readonly sources: ReadonlyArray<
    | { readonly kind: 'featureView'; readonly name: string; readonly features: readonly string[] }
    | { readonly kind: 'request'; readonly name: string; readonly schema: readonly ConsoleField[] }
  >
  readonly features: readonly ConsoleField[]
  readonly udfSource: string
  readonly udfHash: string
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
  readonly created: string
  readonly updated: string
  readonly featureServices: readonly string[]
}

export interface ConsoleFeatureService {
  readonly name: string
  readonly projections: ReadonlyArray<{ readonly view: string; readonly kind: 'featureView' | 'onDemand' | 'missing'; readonly features: readonly string[] }>
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
  readonly created: string
  readonly updated: string
}

export interface ConsoleRegistry {
  readonly project: string
  readonly registryVersion: number
  readonly entities: readonly ConsoleEntity[]
  readonly featureViews: readonly ConsoleFeatureView[]
  readonly onDemandFeatureViews: readonly ConsoleOnDemandView[]
  readonly featureServices: readonly ConsoleFeatureService[]
}

/** What the server has served of one view since it started, from its metrics. */
export interface ConsoleViewFreshness {
  readonly view: string
  readonly kind: 'featureView' | 'onDemand'
  /** Values served, by status (morsel_feature_values_served_total). */
  readonly served: Readonly<Record<StatusName, number>>
  /** Age of the values served (morsel_feature_value_age_seconds): quantiles estimated from its buckets. */
  readonly age: { readonly count: number; readonly p50Seconds: number | null; readonly p99Seconds: number | null; readonly meanSeconds: number | null }
  /** End of the latest materialized window (registry), and its age now. */
  readonly materializedUntil: string | null
  readonly materializedAgeSeconds: number | null
}

export interface ConsoleFreshness {
  readonly generatedAt: string
  readonly views: readonly ConsoleViewFreshness[]
}

/**
 * The rolling time series behind the charts: one entry per sample in every array. Rates and
 * quantiles are over the window ending at each sample; null where nothing happened in it.
 */
export interface ConsoleTimeSeries {
  readonly intervalMs: number
  /** Quantiles and ratios are computed over this many milliseconds ending at each sample. */
  readonly windowMs: number
  readonly t: readonly number[]
  /** Requests per second to every endpoint but the console's, /metrics, /health and /ready. */
  readonly requestRate: ReadonlyArray<number | null>
  /** Requests per second to POST /get-online-features. */
  readonly onlineRequestRate: ReadonlyArray<number | null>
  /** POST /get-online-features latency, milliseconds. */
  readonly httpP50Ms: ReadonlyArray<number | null>
  readonly httpP99Ms: ReadonlyArray<number | null>
  /** Online reads in the library (every read: HTTP, apps), milliseconds. */
  readonly readP50Ms: ReadonlyArray<number | null>
  readonly readP99Ms: ReadonlyArray<number | null>
  /** Share of values served: PRESENT (hit), NOT_FOUND (miss), OUTSIDE_MAX_AGE (stale), NULL_VALUE. */
  readonly hitRatio: ReadonlyArray<number | null>
  readonly missRatio: ReadonlyArray<number | null>
  readonly staleRatio: ReadonlyArray<number | null>
  readonly nullRatio: ReadonlyArray<number | null>
  /** Online store figures (Redis INFO, sampled every `feature_server.metrics.store_stats_interval_seconds`). */
  readonly storeUsedMemoryBytes: ReadonlyArray<number | null>
  readonly storeOpsPerSecond: ReadonlyArray<number | null>
  /** Counters as of the last sample, since the server started. */
  readonly totals: {
    readonly requests: number
    readonly onlineRequests: number
    readonly reads: number
    readonly served: Readonly<Record<StatusName, number>>
    readonly storeUsedMemoryBytes: number | null
    readonly storeOpsPerSecond: number | null
    readonly storeType: string | null
    readonly storeStatsIntervalSeconds: number
    /** False when `feature_server.metrics.enabled` is off: reads, statuses and store figures are not recorded. */
    readonly metricsEnabled: boolean
  }
}

export interface ConsoleLookupValue {
  readonly name: string
  readonly dtype: string
  readonly value: unknown
  readonly status: StatusName
  /** Event time of the stored row; null when none. */
  readonly eventTime: string | null
  readonly ageSeconds: number | null
}

export interface ConsoleLookup {
  readonly keys: Readonly<Record<string, unknown>>
  readonly readMs: number
  readonly views: ReadonlyArray<{ readonly view: string; readonly joinKeys: readonly string[]; readonly ttlSeconds: number; readonly values: readonly ConsoleLookupValue[] }>
  /** Views not read, and why (a join key not given, no permission). */
  readonly skipped: ReadonlyArray<{ readonly view: string; readonly reason: string }>
}

export interface ConsoleError {
  readonly error: { readonly code: string; readonly message: string }
}
