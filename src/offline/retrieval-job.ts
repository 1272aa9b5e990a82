import type { Table } from 'apache-arrow'
import type { ColumnarRows } from '../types/columnar.js'
import { toArrowTable } from './arrow-table.js'
import type { OfflineJob, OperationOptions, ResultOptions } from './offline-store.js'

/**
 * A training set being retrieved (Feast's `RetrievalJob`): nothing runs until a result is asked
 * for, and each of `toRows`, `toArrow`, `toFile` runs the join afresh. Columns are the entity
 * columns as given, then the features in the order requested.
 */
export class RetrievalJob {
  readonly #job: OfflineJob

  constructor(job: OfflineJob) {
    this.#job = job
  }

  /** The SQL the offline store runs, for logs, `EXPLAIN` and review. */
  toSql(): string {
    return this.#job.toSql()
  }

  /**
   * The training set as one object per entity row, in input order. Timestamps are Dates, 64-bit
   * integers numbers (bigints beyond 2^53), lists arrays; a feature with no row in range is null.
   */
  async toRows(options: OperationOptions = {}): Promise<Array<Record<string, unknown>>> {
    const rows: Array<Record<string, unknown>> = []
    for await (const batch of this.batches(options)) {
      const cols = batch.names.map((n) => batch.columns.get(n) as readonly unknown[])
      for (let r = 0; r < batch.rowCount; r++) {
        const row: Record<string, unknown> = {}
        for (let c = 0; c < cols.length; c++) row[batch.names[c] as string] = (cols[c] as readonly unknown[])[r]
        rows.push(row)
      }
    }
    return rows
  }

  /** The training set as an Apache Arrow table; timestamps keep their microseconds. */
  async toArrow(options: OperationOptions = {}): Promise<Table> {
    const result = await this.#job.execute({ ...options, timestamps: 'micros' })
    const data = new Map<string, unknown[]>(result.columns.map((c) => [c.name, []]))
    let rowCount = 0
    for await (const batch of result.batches()) {
      for (const [name, values] of batch.columns) {
        const into = data.get(name) as unknown[]
        for (const v of values) into.push(v)
      }
      rowCount += batch.rowCount
    }
    return toArrowTable(result.columns, data, rowCount)
  }

  /**
   * Writes the training set to a Parquet or CSV file (by extension) inside the offline store,
   * streaming, atomically: the file appears whole or not at all.
   */
  async toFile(path: string, options: OperationOptions = {}): Promise<{ readonly rows: number }> {
    return { rows: await this.#job.toFile(path, options) }
  }

  /** The columns and then the rows, batch by batch, without holding the whole set. */
  async *batches(options: ResultOptions = {}): AsyncGenerator<ColumnarRows, void, undefined> {
    const result = await this.#job.execute(options)
    try {
      yield* result.batches()
    } finally {
      await result.close()
    }
  }
}
