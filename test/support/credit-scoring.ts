import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The tutorial's published credit-scoring files, beside the project (never copied into it). */
export const SHARED_CREDIT_DATA = resolve(process.env.MORSEL_CREDIT_DATA ?? join(import.meta.dirname, '../../../shared/data/credit-scoring'))

const FILES = ['loan_table.parquet', 'zipcode_table.parquet', 'credit_history_sample.csv']

/** Fails (never skips) when the shared files are not there. */
export function requireSharedCreditData(): void {
  const missing = FILES.filter((f) => !existsSync(join(SHARED_CREDIT_DATA, f)))
  if (missing.length > 0) {
    throw new Error(`The credit-scoring reference files ${missing.join(', ')} are not in ${SHARED_CREDIT_DATA}; put them there or set MORSEL_CREDIT_DATA to their folder.`)
  }
}
