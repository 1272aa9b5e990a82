import type { BatchSourceSpec, FileSourceSpec } from '../definitions/specs.js'
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

/** A join key or feature as a query reads it: a source column, the name it takes, its declared type. */
export interface QueryColumn {
  /** The column in the source (after reversing `fieldMapping`). */
  readonly column: string
  /** The name it has in the query's result. */
  readonly name: string
  readonly valueType: ValueTypeCode
}

/** What a query reads from one batch source: the view's join keys, times and features. */
export interface SourceQuery {
  /** The feature view, for messages and SQL comments. */
  readonly view: string
  readonly source: FileSourceSpec
  /** The view's join keys; `name` is the join key, as the entity rows name it. */
  readonly joinKeys: readonly QueryColumn[]
  /** Source column of the event time. */
  readonly timestampField: string
  /** Source column of the creation time breaking ties between equal event times; '' for none. */
  readonly createdTimestampColumn: string
  readonly features: readonly QueryColumn[]
}

/** One feature view's part of a point-in-time join. */
export interface HistoricalViewQuery extends SourceQuery {
  /** 0: no lower bound on the age of the row picked. */
  readonly ttlSeconds: number
}

/**
 * The entity rows of a training set: join keys, an event time and any other columns (labels,
 * request data), kept in their order.
 */
export type EntitySource =
  | {
      readonly kind: 'rows'
      /** Columns by name. Timestamp columns (type UNIX_TIMESTAMP) hold epoch microseconds. */
      readonly rows: ColumnarRows
      /** One type per column of `rows.names`. */
      readonly types: readonly ValueTypeCode[]
    }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'sql'; readonly sql: string }

/**
 * Computes columns from other columns of a result, batch by batch (on-demand features). The
 * offline store streams its result through it, so a training set never has to fit in memory.
 */
export interface ResultTransform {
  /** Result columns it reads. */
  readonly inputs: readonly string[]
  /** Columns it adds. */
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly valueType: ValueTypeCode }>
  /**
   * One array per output, each `batch.rowCount` long. Timestamps in `batch` are Dates and 64-bit
   * integers numbers (bigints beyond 2^53), as everywhere in Morsel's TypeScript API.
   */
  apply(batch: ColumnarRows): ReadonlyArray<readonly unknown[]>
}

/** A point-in-time join, resolved from the registry: everything an engine needs, nothing more. */
export interface HistoricalQuery {
  readonly entities: EntitySource
  /** The entity column holding each row's point in time. */
  readonly timestampColumn: string
  readonly views: readonly HistoricalViewQuery[]
  /** Entity columns the query needs besides the timestamp (join keys, request data), and what needs them. */
  readonly requiredColumns: ReadonlyArray<{ readonly name: string; readonly kind: 'joinKey' | 'requestField'; readonly neededBy: string }>
  readonly transform?: ResultTransform
  /**
   * The feature columns of the result, in order, after the entity columns: names of view
   * features (`HistoricalViewQuery.features[].name`) and transform outputs. View features not
   * listed are read only as transform inputs.
   */
  readonly outputColumns: readonly string[]
}

/** A column of a result. */
export interface ResultColumn {
  readonly name: string
  /** The Feast value type it holds, or null for engine types without one. */
  readonly valueType: ValueTypeCode | null
  /** The engine's type name. */
  readonly sourceType: string
}

export interface ResultOptions extends OperationOptions {
  /**
   * How timestamps come: `date` as Date objects (millisecond precision, the TypeScript API),
   * `micros` as numbers of epoch microseconds (full precision, for Arrow). Default `date`.
   */
  readonly timestamps?: 'date' | 'micros'
}

/** A running result, read batch by batch in entity-row order. */
export interface OfflineResult {
  readonly columns: readonly ResultColumn[]
  /** Yields the rows once; ends the query (and frees its resources) when done or abandoned. */
  batches(): AsyncIterable<ColumnarRows>
  /** Frees the result's resources without reading it; harmless after `batches()` ended. */
  close(): Promise<void>
}

/** A point-in-time join prepared by an offline store: nothing runs until a result is asked for. */
export interface OfflineJob {
  /** The statements the job runs, in the engine's dialect. */
  toSql(): string
  execute(options?: ResultOptions): Promise<OfflineResult>
  /**
   * Writes the result to a Parquet or CSV file (by extension) inside the engine, streaming,
   * atomically: the file appears complete or not at all. Returns the number of rows.
   */
  toFile(path: string, options?: OperationOptions): Promise<number>
}

/** The rows materialization reads from a source for one window. */
export interface PullLatestRequest extends SourceQuery {
  /** Window start and end, epoch microseconds, both inclusive. */
  readonly startMicros: number
  readonly endMicros: number
}

/** One batch of pulled rows: the join keys and features by their query names, and event times. */
export interface LatestBatch extends ColumnarRows {
  readonly eventTimeMicros: Float64Array
}

export interface LatestRows {
  /** Rows the pull yields: one per entity with a row in the window. */
  readonly rowCount: number
  /** Yields the rows once, `batchRows` at a time; frees the query when done or abandoned. */
  batches(): AsyncIterable<LatestBatch>
  close(): Promise<void>
}

export interface PullOptions extends OperationOptions {
  /** Rows per batch; default 10,000. */
  readonly batchRows?: number
  /**
   * Entities deduplicated at a time: an engine that keeps per-entity state may split the pull
   * into partitions of about this many entities to bound its memory. Default: the engine's.
   */
  readonly partitionEntities?: number
}

/**
 * The engine over historical feature data. The core resolves requests against the registry; an
 * offline store answers them in its engine (SQL), never row by row in JavaScript. A SQL
 * warehouse implements the same four operations with its own dialect: a point-in-time join, a
 * latest-row-per-entity pull, an append, and describing a source.
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

  /**
   * Prepares a point-in-time join (Feast's `get_historical_features`): for each view and each
   * entity row at time T, the latest source row with event time ≤ T (and ≥ T − ttl when ttl > 0),
   * ties broken by the created timestamp; nulls when there is none; every entity row kept, in order.
   */
  historicalJob(query: HistoricalQuery): OfflineJob

  /**
   * The latest row per entity among the rows whose event time is within the window (ties broken
   * by the created timestamp), for materialization; streamed, never held whole in JavaScript.
   */
  pullLatest(request: PullLatestRequest, options?: PullOptions): Promise<LatestRows>

  /**
   * Appends rows to a batch source's file, atomically (a Parquet file is rewritten through a
   * temporary file and a rename, a CSV file appended to), after checking every value against the
   * source's column types. Columns are named as in the source or as the view names them (through
   * `fieldMapping`); a missing created-timestamp column is filled with the time of the append.
   * Appends to one file are serialised across processes, and a row identical in every given
   * column to one already in the file is not appended again, so a retried push adds nothing.
   * Returns the number of rows appended.
   */
  appendRows(source: BatchSourceSpec, rows: ColumnarRows, options?: OperationOptions): Promise<number>

  close(): Promise<void>
}

export interface OfflineStoreContext {
  /** Absolute path of the feature repository; relative source paths are resolved against it. */
  readonly repoPath: string
}
