/**
 * The registered form of every definition: plain, JSON-serialisable data. Builders (`new Entity`,
 * `new FeatureView` …) produce these; the registry stores them; the runtime works only from them,
 * so nothing on the read path depends on how a definition was written.
 *
 * Field names follow the proto3 JSON form of Feast's registry protos (camelCase) where one exists.
 */

export interface FieldSpec {
  readonly name: string
  /** Feast's type name: `Int64`, `String`, `Array(Float32)` … */
  readonly dtype: string
  /** Feast ValueType code of `dtype`. */
  readonly valueType: number
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
}

export interface EntitySpec {
  readonly name: string
  readonly joinKey: string
  readonly dtype: string
  readonly valueType: number
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
}

export type FileFormat = 'parquet' | 'csv'

export interface FileSourceSpec {
  readonly kind: 'file'
  readonly name: string
  /** As written in the definition; relative paths are relative to the feature repository. */
  readonly path: string
  readonly format: FileFormat
  readonly timestampField: string
  readonly createdTimestampColumn: string
  /** Source column name → feature or join-key name. */
  readonly fieldMapping: Readonly<Record<string, string>>
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
}

export interface PushSourceSpec {
  readonly kind: 'push'
  readonly name: string
  /** Where pushed rows go offline, and what materialization reads. */
  readonly batchSource: FileSourceSpec
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
}

export interface RequestSourceSpec {
  readonly kind: 'request'
  readonly name: string
  readonly schema: readonly FieldSpec[]
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
}

export type DataSourceSpec = FileSourceSpec | PushSourceSpec | RequestSourceSpec
export type BatchSourceSpec = FileSourceSpec | PushSourceSpec

export interface FeatureViewSpec {
  readonly name: string
  /** Entity names, in definition order. */
  readonly entities: readonly string[]
  /** One per entity: the join key column and its type. */
  readonly entityColumns: readonly FieldSpec[]
  readonly features: readonly FieldSpec[]
  /** 0 means no limit (Feast: ttl of 0 or None). */
  readonly ttlSeconds: number
  readonly online: boolean
  /** Name of the batch or push source. */
  readonly source: string
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
}

export type OnDemandSourceSpec =
  | { readonly kind: 'featureView'; readonly name: string; readonly features: readonly string[] }
  | { readonly kind: 'request'; readonly name: string }

export interface OnDemandFeatureViewSpec {
  readonly name: string
  readonly sources: readonly OnDemandSourceSpec[]
  readonly features: readonly FieldSpec[]
  /** The function's source text, kept for review in `registry-dump` and the console. */
  readonly udfSource: string
  /** SHA-256 of `udfSource`; tells a running server that the code it holds is not what was applied. */
  readonly udfHash: string
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
}

export interface FeatureProjectionSpec {
  /** A feature view or an on-demand feature view. */
  readonly view: string
  /** The features selected from it, in order. */
  readonly features: readonly string[]
}

export interface FeatureServiceSpec {
  readonly name: string
  readonly projections: readonly FeatureProjectionSpec[]
  readonly description: string
  readonly tags: Readonly<Record<string, string>>
  readonly owner: string
}
