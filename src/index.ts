/**
 * Morsel: a feature store for real-time machine learning on Node.js.
 *
 * Definitions (`Entity`, `FeatureView`, `FeatureService` …) are written in TypeScript in a feature
 * repository beside `feature_store.yaml`; `FeatureStore.open(repo)` serves them.
 */
export { FeatureStore, type ApplyResult, type FeatureStoreObserver, type FeatureStoreOptions, type OnlineFeaturesRequest, type WriteSummary } from './feature-store.js'
export type { PushSummary, PushTarget, PushViewSummary } from './serving/push.js'
export { MorselClient, type MorselClientOptions, type PushResult, type WriteResult, type MaterializeJobInfo } from './client/morsel-client.js'
export {
  Entity,
  FeatureService,
  FeatureView,
  FeatureViewProjection,
  FileSource,
  OnDemandFeatureView,
  PushSource,
  RequestSource,
  parseFeatureRef,
  type Duration,
  type EntityOptions,
  type FeatureRef,
  type FeatureServiceOptions,
  type FeatureViewOptions,
  type FileSourceOptions,
  type OnDemandFeatureViewOptions,
  type OnDemandInputRow,
  type PushSourceOptions,
  type RequestSourceOptions,
  type RowOf,
  type SchemaDef,
} from './definitions/index.js'
export type * from './definitions/specs.js'
export { types, type DType, type ValueOf } from './types/dtypes.js'
export { ValueType, type FeatureValue, type ValueTypeCode } from './types/value-type.js'
export { FieldStatus, type FieldStatusName } from './serving/field-status.js'
export { OnlineResponse } from './serving/online-response.js'
export { ERROR_CODES, MorselError, isMorselError, type ErrorCode } from './errors/index.js'
export { loadRepoConfig, type LoadConfigOptions } from './config/load-config.js'
export type { RepoConfig } from './config/repo-config.js'
export type { RepoPlan, PlanItem } from './registry/plan.js'
export type { OnlineStore, OnlineReadGroup, OnlineWriteBatch, OnlineWriteResult, EntityCells, PreparedRead } from './online/online-store.js'
export type { OfflineStore, SourceColumn } from './offline/offline-store.js'
export { RetrievalJob } from './offline/retrieval-job.js'
export type { EntityInput, HistoricalFeaturesRequest } from './offline/historical-query.js'
export type {
  MaterializeIncrementalOptions,
  MaterializeOptions,
  MaterializeProgress,
  MaterializeResult,
  ViewMaterializeResult,
} from './materialization/materialize.js'
export type { RegistryStore } from './registry/registry-store.js'
