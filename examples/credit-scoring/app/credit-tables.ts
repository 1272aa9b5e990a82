import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** A column of one of the example's tables and its DuckDB (= Parquet) type. */
export interface TableColumn {
  readonly name: string
  readonly type: 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'TIMESTAMP WITH TIME ZONE'
}

const TS = 'TIMESTAMP WITH TIME ZONE'

/**
 * The three tables of Feast's credit-scoring tutorial, with the exact schemas of its published
 * files: what the generator writes and what imported files are cast to.
 */
export const CREDIT_TABLES = {
  /** Historic loans with their outcome: the entity rows of the training set. */
  loans: {
    file: 'loan_table.parquet',
    columns: [
      { name: 'loan_id', type: 'BIGINT' },
      { name: 'dob_ssn', type: 'VARCHAR' },
      { name: 'zipcode', type: 'BIGINT' },
      { name: 'person_age', type: 'BIGINT' },
      { name: 'person_income', type: 'BIGINT' },
      { name: 'person_home_ownership', type: 'VARCHAR' },
      { name: 'person_emp_length', type: 'DOUBLE' },
      { name: 'loan_intent', type: 'VARCHAR' },
      { name: 'loan_amnt', type: 'BIGINT' },
      { name: 'loan_int_rate', type: 'DOUBLE' },
      { name: 'loan_status', type: 'BIGINT' },
      { name: 'event_timestamp', type: TS },
      { name: 'created_timestamp', type: TS },
    ],
  },
  /** The source of `zipcode_features`. */
  zipcodes: {
    file: 'zipcode_table.parquet',
    columns: [
      { name: 'zipcode', type: 'BIGINT' },
      { name: 'city', type: 'VARCHAR' },
      { name: 'state', type: 'VARCHAR' },
      { name: 'location_type', type: 'VARCHAR' },
      { name: 'tax_returns_filed', type: 'BIGINT' },
      { name: 'population', type: 'BIGINT' },
      { name: 'total_wages', type: 'BIGINT' },
      { name: 'event_timestamp', type: TS },
      { name: 'created_timestamp', type: TS },
    ],
  },
  /** The source of `credit_history`. */
  creditHistory: {
    file: 'credit_history.parquet',
    columns: [
      { name: 'event_timestamp', type: TS },
      { name: 'dob_ssn', type: 'VARCHAR' },
      { name: 'credit_card_due', type: 'BIGINT' },
      { name: 'mortgage_due', type: 'BIGINT' },
      { name: 'student_loan_due', type: 'BIGINT' },
      { name: 'vehicle_loan_due', type: 'BIGINT' },
      { name: 'hard_pulls', type: 'BIGINT' },
      { name: 'missed_payments_2y', type: 'BIGINT' },
      { name: 'missed_payments_1y', type: 'BIGINT' },
      { name: 'missed_payments_6m', type: 'BIGINT' },
      { name: 'bankruptcies', type: 'BIGINT' },
      { name: 'created_timestamp', type: TS },
    ],
  },
} as const satisfies Record<string, { readonly file: string; readonly columns: readonly TableColumn[] }>

export type CreditTable = keyof typeof CREDIT_TABLES

/** What made the files in a data folder, so that a later run can tell whether they are still good. */
export interface DataManifest {
  /** `generated` by this example's generator, or `imported` from existing files. */
  readonly origin: 'generated' | 'imported'
  /** Generator settings, for generated data. */
  readonly seed?: number
  /** The day the generated "current" credit snapshots lead up to (ISO date). */
  readonly asOf?: string
  /** The folder the files were imported from. */
  readonly importedFrom?: string
  readonly generatorVersion?: number
  readonly rows: Readonly<Record<CreditTable, number>>
  readonly writtenAt: string
}

export const MANIFEST_FILE = 'manifest.json'

export function readManifest(dataDir: string): DataManifest | undefined {
  const path = join(dataDir, MANIFEST_FILE)
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DataManifest
  } catch {
    return undefined
  }
}

export function writeManifest(dataDir: string, manifest: DataManifest): void {
  writeFileSync(join(dataDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`)
}

/** True when every table file is in the folder. */
export function tablesPresent(dataDir: string): boolean {
  return Object.values(CREDIT_TABLES).every((t) => existsSync(join(dataDir, t.file)))
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}
