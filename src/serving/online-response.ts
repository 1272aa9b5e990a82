import { MorselError, didYouMean } from '../errors/index.js'
import type { FeatureValue } from '../types/value-type.js'
import { FIELD_STATUS_NAMES, FieldStatus, type FieldStatusName } from './field-status.js'

/**
 * The answer to `getOnlineFeatures`, column by column as Feast's response is: one column per
 * entity or request field sent, then one per feature, each with a value, a status and an event
 * time per entity row. Rows are in the order the entities were given.
 */
export class OnlineResponse<Row = Record<string, FeatureValue>> {
  /** Column names: entity and request columns in the order sent, then features in the order asked. */
  readonly featureNames: readonly string[]
  readonly rowCount: number
  /** `values[c][r]`: value of column c for entity row r (null when absent, null or stale). */
  readonly values: ReadonlyArray<readonly unknown[]>
  /** `statuses[c][r]`: a `FieldStatus` code. */
  readonly statuses: ReadonlyArray<Uint8Array>
  /** `eventTimes[c][r]`: event time in epoch microseconds, 0 when there is none. */
  readonly eventTimes: ReadonlyArray<Float64Array>
  /** How many leading columns echo the request (entity keys and request data). */
  readonly requestColumns: number
  declare readonly __row?: Row

  constructor(
    featureNames: readonly string[],
    rowCount: number,
    values: ReadonlyArray<readonly unknown[]>,
    statuses: ReadonlyArray<Uint8Array>,
    eventTimes: ReadonlyArray<Float64Array>,
    requestColumns: number,
  ) {
    this.featureNames = featureNames
    this.rowCount = rowCount
    this.values = values
    this.statuses = statuses
    this.eventTimes = eventTimes
    this.requestColumns = requestColumns
  }

  /** Column-major values by name, as Feast's `OnlineResponse.to_dict()`. */
  toDict(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {}
    this.featureNames.forEach((name, c) => {
      out[name] = [...(this.values[c] ?? [])]
    })
    return out
  }

  /** One object per entity row, keyed by column name. */
  toRows(): Row[] {
    const rows: Row[] = []
    for (let r = 0; r < this.rowCount; r++) {
      const row: Record<string, unknown> = {}
      for (let c = 0; c < this.featureNames.length; c++) row[this.featureNames[c] as string] = this.values[c]?.[r]
      rows.push(row as Row)
    }
    return rows
  }

  /** Index of a column, or an error listing the columns there are. */
  column(name: string): number {
    const c = this.featureNames.indexOf(name)
    if (c < 0) {
      throw new MorselError(
        'MORSEL_USAGE',
        `No column '${String(name)}' in this response; it has ${this.featureNames.join(', ')}.${didYouMean(String(name), this.featureNames)} With full feature names, columns are named 'view__feature'.`,
        { details: { column: name } },
      )
    }
    return c
  }

  value(name: string, row = 0): unknown {
    return this.values[this.column(name)]?.[this.#row(row)]
  }

  status(name: string, row = 0): FieldStatusName {
    return FIELD_STATUS_NAMES[this.statuses[this.column(name)]?.[this.#row(row)] ?? FieldStatus.INVALID] ?? 'INVALID'
  }

  /** The event time of a value, or null when it has none (missing, request columns, on-demand). */
  eventTime(name: string, row = 0): Date | null {
    const us = this.eventTimes[this.column(name)]?.[this.#row(row)] ?? 0
    return us === 0 ? null : new Date(us / 1000)
  }

  /** A row past the end would otherwise read as a missing value, hiding the caller's mistake. */
  #row(row: number): number {
    if (Number.isInteger(row) && row >= 0 && row < this.rowCount) return row
    throw new MorselError(
      'MORSEL_USAGE',
      `Row ${String(row)} is not in this response: it has ${this.rowCount} row${this.rowCount === 1 ? '' : 's'} (0 to ${this.rowCount - 1}), one per entity row of the request, in order.`,
      { details: { row, rowCount: this.rowCount } },
    )
  }
}
