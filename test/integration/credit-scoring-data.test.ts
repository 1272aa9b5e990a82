import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREDIT_TABLES } from '../../examples/credit-scoring/app/credit-tables.js'
import { TUTORIAL_APPLICANT, TUTORIAL_ZIPCODE, generateCreditData } from '../../examples/credit-scoring/app/generate-data.js'
import { importCreditData } from '../../examples/credit-scoring/app/import-data.js'
import { SHARED_CREDIT_DATA, requireSharedCreditData } from '../support/credit-scoring.js'

const AS_OF = new Date('2026-11-26T00:00:00Z')
const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'morsel-credit-'))
  dirs.push(d)
  return d
}

let instance: DuckDBInstance
let conn: DuckDBConnection
let full: string

async function query(sql: string): Promise<Array<Record<string, unknown>>> {
  const reader = await conn.runAndReadAll(sql)
  return reader.getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])))
}

async function describeColumns(relation: string): Promise<Array<[string, string]>> {
  return (await query(`DESCRIBE SELECT * FROM ${relation}`)).map((r) => [r.column_name as string, r.column_type as string])
}

beforeAll(async () => {
  requireSharedCreditData()
  instance = await DuckDBInstance.create(':memory:')
  conn = await instance.connect()
  await conn.run("SET TimeZone = 'UTC'")
  full = tempDir()
  await generateCreditData({ dataDir: full, asOf: AS_OF })
})

afterAll(() => {
  conn?.closeSync()
  instance?.closeSync()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const file = (dir: string, table: keyof typeof CREDIT_TABLES): string => `'${join(dir, CREDIT_TABLES[table].file)}'`

describe('the credit-scoring data generator', () => {
  it('writes the same bytes for the same seed, and other bytes for another seed', async () => {
    const [a, b, c] = [tempDir(), tempDir(), tempDir()]
    await generateCreditData({ dataDir: a, seed: 7, asOf: AS_OF, loans: 2000, zipcodes: 1500 })
    await generateCreditData({ dataDir: b, seed: 7, asOf: AS_OF, loans: 2000, zipcodes: 1500 })
    await generateCreditData({ dataDir: c, seed: 8, asOf: AS_OF, loans: 2000, zipcodes: 1500 })
    for (const t of Object.values(CREDIT_TABLES)) {
      const bytes = readFileSync(join(a, t.file))
      expect(bytes.equals(readFileSync(join(b, t.file))), t.file).toBe(true)
      expect(bytes.equals(readFileSync(join(c, t.file))), t.file).toBe(false)
    }
  })

  it('changes only the dates of the current credit snapshots when asOf moves', async () => {
    const later = tempDir()
    const base = tempDir()
    await generateCreditData({ dataDir: base, seed: 3, asOf: AS_OF, loans: 1000, zipcodes: 1000 })
    await generateCreditData({ dataDir: later, seed: 3, asOf: new Date('2027-03-01T00:00:00Z'), loans: 1000, zipcodes: 1000 })
    expect(readFileSync(join(base, CREDIT_TABLES.loans.file)).equals(readFileSync(join(later, CREDIT_TABLES.loans.file)))).toBe(true)
    expect(readFileSync(join(base, CREDIT_TABLES.zipcodes.file)).equals(readFileSync(join(later, CREDIT_TABLES.zipcodes.file)))).toBe(true)
    const shift = Date.parse('2027-03-01') - AS_OF.getTime()
    const [diff] = await query(`
      SELECT count(*) AS n,
             count(*) FILTER (a.credit_card_due <> b.credit_card_due OR a.missed_payments_2y <> b.missed_payments_2y OR a.dob_ssn <> b.dob_ssn) AS changed_values,
             count(*) FILTER (a.event_timestamp <> b.event_timestamp AND epoch_ms(b.event_timestamp) - epoch_ms(a.event_timestamp) <> ${shift}) AS odd_shifts,
             count(*) FILTER (a.event_timestamp <> b.event_timestamp AND a.event_timestamp < TIMESTAMPTZ '2026-01-01') AS moved_history
      FROM (SELECT *, row_number() OVER (ORDER BY dob_ssn, event_timestamp) AS i FROM ${file(base, 'creditHistory')}) a
      JOIN (SELECT *, row_number() OVER (ORDER BY dob_ssn, event_timestamp) AS i FROM ${file(later, 'creditHistory')}) b USING (i)`)
    expect(diff).toEqual({ n: expect.any(Number), changed_values: 0, odd_shifts: 0, moved_history: 0 })
  })

  it("has exactly the schemas of the tutorial's files", async () => {
    expect(await describeColumns(file(full, 'loans'))).toEqual(await describeColumns(`'${join(SHARED_CREDIT_DATA, 'loan_table.parquet')}'`))
    expect(await describeColumns(file(full, 'zipcodes'))).toEqual(await describeColumns(`'${join(SHARED_CREDIT_DATA, 'zipcode_table.parquet')}'`))
    // A CSV has no time zones: its timestamps are the same columns without one.
    const csv = (await describeColumns(`read_csv('${join(SHARED_CREDIT_DATA, 'credit_history_sample.csv')}')`)).map(([n, t]) => [n, t === 'TIMESTAMP' ? 'TIMESTAMP WITH TIME ZONE' : t])
    expect(await describeColumns(file(full, 'creditHistory'))).toEqual(csv)
  })

  it("contains the tutorial's applicant with a credit snapshot recent enough to serve, and ZIP code 76104 in Fort Worth", async () => {
    const loans = await query(`SELECT * FROM ${file(full, 'loans')} WHERE dob_ssn = '${TUTORIAL_APPLICANT}'`)
    expect(loans).toHaveLength(1)
    const [latest] = await query(`SELECT max(event_timestamp) AS t FROM ${file(full, 'creditHistory')} WHERE dob_ssn = '${TUTORIAL_APPLICANT}'`)
    const age = AS_OF.getTime() - (latest!.t as Date).getTime()
    expect(age).toBeGreaterThan(0)
    expect(age).toBeLessThan(7 * 86_400_000)
    const [zip] = await query(`SELECT city, state, location_type FROM ${file(full, 'zipcodes')} WHERE zipcode = ${TUTORIAL_ZIPCODE}`)
    expect(zip).toEqual({ city: 'FORT WORTH', state: 'TX', location_type: 'PRIMARY' })
  })

  it('dates loans 2020-08 to 2021-08, with credit snapshots before and after them: some loans have none within 90 days', async () => {
    const [l] = await query(`SELECT count(*) AS n, count(DISTINCT dob_ssn) AS applicants, min(event_timestamp) AS first, max(event_timestamp) AS last, avg(loan_status) AS default_rate FROM ${file(full, 'loans')}`)
    expect(l!.n).toBe(28_000)
    expect(l!.applicants).toBe(28_000)
    expect((l!.first as Date).toISOString() >= '2020-08-25').toBe(true)
    expect((l!.last as Date).toISOString() <= '2021-08-26').toBe(true)
    expect(l!.default_rate).toBeGreaterThan(0.18)
    expect(l!.default_rate).toBeLessThan(0.27)
    const [j] = await query(`
      WITH j AS (
        SELECT l.loan_id, l.event_timestamp AS loan_at, l.loan_status,
               max(c.event_timestamp) FILTER (c.event_timestamp <= l.event_timestamp) AS before,
               avg(c.missed_payments_2y) FILTER (c.event_timestamp > l.event_timestamp AND c.event_timestamp < TIMESTAMPTZ '2023-01-01') AS missed_after
        FROM ${file(full, 'loans')} l JOIN ${file(full, 'creditHistory')} c USING (dob_ssn) GROUP BY ALL)
      SELECT avg(CASE WHEN before >= loan_at - INTERVAL 90 DAY THEN 1 ELSE 0 END) AS covered,
             avg(CASE WHEN missed_after IS NOT NULL THEN 1 ELSE 0 END) AS with_later_snapshot,
             avg(missed_after) FILTER (loan_status = 1) - avg(missed_after) FILTER (loan_status = 0) AS leak
      FROM j`)
    expect(j!.covered).toBeGreaterThan(0.55)
    expect(j!.covered).toBeLessThan(0.8)
    expect(j!.with_later_snapshot).toBeGreaterThan(0.5)
    // Snapshots after a default show its missed payments: only a point-in-time join keeps them out of training.
    expect(j!.leak).toBeGreaterThan(1)
  })

  it("follows the tutorial's distributions", async () => {
    const real = (name: string): string => `'${join(SHARED_CREDIT_DATA, name)}'`
    const stats = async (relation: string, columns: readonly string[]): Promise<Record<string, unknown>> =>
      (await query(`SELECT ${columns.map((c) => `avg(${c}) AS ${c}_mean, min(${c}) AS ${c}_min, max(${c}) AS ${c}_max`).join(', ')} FROM ${relation}`))[0]!
    const loanCols = ['person_age', 'person_income', 'person_emp_length', 'loan_amnt', 'loan_int_rate']
    const creditCols = ['credit_card_due', 'mortgage_due', 'student_loan_due', 'vehicle_loan_due', 'hard_pulls', 'missed_payments_2y', 'missed_payments_1y', 'missed_payments_6m', 'bankruptcies']
    const ours = { ...(await stats(file(full, 'loans'), loanCols)), ...(await stats(file(full, 'creditHistory'), creditCols)) }
    const theirs = { ...(await stats(real('loan_table.parquet'), loanCols)), ...(await stats(`read_csv(${real('credit_history_sample.csv')})`, creditCols)) }
    for (const c of [...loanCols, ...creditCols]) {
      const mean = ours[`${c}_mean`] as number
      const target = theirs[`${c}_mean`] as number
      expect(Math.abs(mean - target) / Math.max(target, 0.1), `${c} mean ${mean} vs ${target}`).toBeLessThan(0.3)
      expect(ours[`${c}_min`] as number, `${c} min`).toBeGreaterThanOrEqual(0)
    }
    for (const c of creditCols.filter((x) => !x.endsWith('_due'))) expect(ours[`${c}_max`], `${c} max`).toBe(theirs[`${c}_max`])
    const cats = async (relation: string, column: string): Promise<string[]> => (await query(`SELECT DISTINCT ${column} AS v FROM ${relation} ORDER BY 1`)).map((r) => r.v as string)
    for (const c of ['person_home_ownership', 'loan_intent']) expect(await cats(file(full, 'loans'), c)).toEqual(await cats(real('loan_table.parquet'), c))
    expect(await cats(file(full, 'zipcodes'), 'state')).toEqual(await cats(real('zipcode_table.parquet'), 'state'))
    expect(await cats(file(full, 'zipcodes'), 'location_type')).toEqual(await cats(real('zipcode_table.parquet'), 'location_type'))
    const [z] = await query(`SELECT count(*) AS n, count(DISTINCT zipcode) AS distinct_zips, min(tax_returns_filed) AS min_returns FROM ${file(full, 'zipcodes')}`)
    expect(z).toEqual({ n: 28_800, distinct_zips: 28_800, min_returns: expect.any(Number) })
    expect(z!.min_returns).toBeGreaterThanOrEqual(250)
  })
})

describe('importing the tutorial files', () => {
  it('casts them to the example schemas, the CSV timestamps read as UTC', async () => {
    const dir = tempDir()
    const manifest = await importCreditData(SHARED_CREDIT_DATA, dir)
    expect(manifest.origin).toBe('imported')
    expect(manifest.rows).toEqual({ loans: 28_638, zipcodes: 28_844, creditHistory: 1000 })
    for (const table of ['loans', 'zipcodes', 'creditHistory'] as const) {
      expect(await describeColumns(file(dir, table))).toEqual(CREDIT_TABLES[table].columns.map((c) => [c.name, c.type]))
    }
    const [t] = await query(`SELECT min(event_timestamp) AS t FROM ${file(dir, 'creditHistory')}`)
    expect((t!.t as Date).toISOString()).toBe('2020-04-26T18:01:04.746Z')
  })

  it('says which file is missing', async () => {
    await expect(importCreditData(tempDir(), tempDir())).rejects.toThrow(/has no loan_table.parquet or loan_table.csv/)
  })
})

it('the shared files exist (the tests above read them)', () => {
  expect(existsSync(join(SHARED_CREDIT_DATA, 'loan_table.parquet'))).toBe(true)
})
