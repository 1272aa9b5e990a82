import type { BatchSourceSpec } from '../definitions/specs.js'
import type { ColumnarRows } from '../types/columnar.js'
import type { ValueTypeCode } from '../types/value-type.js'

export interface OperationOptions {
  readonly signal?: AbortSignal
}

/** A column of a batch source as the offline store sees it. */
export interface SourceColumn {
  readonly name: string
  /** The engine's own type name, e.g. `BIGINT`, `TIMESTAMP WITH TIME ZONE`. */
  readonly sourceType: string
  /** The Feast value type it holds, or null when it has none (maps, structs …). */
  readonly valueType: ValueTypeCode | null
  /** True for timestamp and date columns, which can serve as event or created times. */
  readonly isTimestamp: boolean
}

/**
 * The engine over historical feature data. The core builds requests from the registry; an
 * offline store answers them in its engine (SQL), never row by row in JavaScript.
 */
export interface OfflineStore {
  readonly kind: string

  /** The columns of a batch source; throws MORSEL_SOURCE_INVALID when it cannot be read. */
  describeSource(source: BatchSourceSpec, options?: OperationOptions): Promise<readonly SourceColumn[]>

  /**
   * Reads a Parquet or CSV file whole (the CLI's `write-to-online-store`, entity files), column by
   * column. Integers come as numbers (bigint beyond 2^53), timestamps as RFC 3339 strings in UTC
   * with microseconds, so no precision is lost on the way to the online store.
   */
  readTable(path: string, options?: OperationOptions): Promise<ColumnarRows>

  close(): Promise<void>
}

export interface OfflineStoreContext {
  /** Absolute path of the feature repository; relative source paths are resolved against it. */
  readonly repoPath: string
}
