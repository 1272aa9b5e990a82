import { mkdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DOUBLE, DuckDBDataChunk, DuckDBInstance, VARCHAR, type DuckDBConnection } from '@duckdb/node-api'
import { seededRandom } from '../../../src/internal/random.js'
import { CREDIT_TABLES, sqlString, writeManifest, type CreditTable, type DataManifest } from './credit-tables.js'

export interface GenerateOptions {
  /** Where the Parquet files go (created if missing). */
  readonly dataDir: string
  /** Same seed (and asOf) → the same files, byte for byte. Default 42. */
  readonly seed?: number
  /**
   * The day the applicants' current credit snapshots lead up to, so that the online store has
   * fresh credit history to serve. Default: today (UTC). Only those timestamps depend on it.
   */
  readonly asOf?: Date
  /** Number of loans (one applicant each). Default 28,000, about the tutorial's 28,638. */
  readonly loans?: number
  /** Number of ZIP codes. Default 28,800, about the tutorial's 28,844. */
  readonly zipcodes?: number
}

export interface GenerateSummary {
  readonly manifest: DataManifest
  readonly files: Readonly<Record<CreditTable, string>>
}

/** Bump when the generator's output changes, so that older data is regenerated. */
export const GENERATOR_VERSION = 1

/** The applicant and ZIP code of the tutorial's example request; both always exist. */
export const TUTORIAL_APPLICANT = '19630621_4278'
export const TUTORIAL_ZIPCODE = 76104

const DAY_US = 86_400_000_000
/** The latest loan; loans go back one year from it, as in the tutorial's loan table. */
const LOANS_END_US = Date.UTC(2021, 7, 25, 20, 34, 41, 361) * 1000
/**
 * One census snapshot for every ZIP code. The tutorial stamps its table 2017-01-01, which a
 * 3650-day ttl stops serving on 2026-12-30; this stamp precedes every loan and serves until 2029-12-29.
 */
const ZIPCODE_STAMP_US = Date.UTC(2020, 0, 1, 12) * 1000

/**
 * Writes `loan_table.parquet`, `zipcode_table.parquet` and `credit_history.parquet` into
 * `dataDir`: the schemas of Feast's credit-scoring tutorial and distributions close to its files,
 * from a seeded PRNG.
 *
 * The credit history is a series of bureau snapshots per applicant, a few months apart, before
 * and after the loan, plus one recent snapshot (days to months before `asOf`). So a training set
 * must join point-in-time: about a third of loans have no snapshot within the 90-day ttl, and a
 * snapshot taken after a defaulted loan shows the missed payments of that default, which would
 * leak the label into a naive join. The loan outcome is drawn from a logistic model of the
 * application, the applicant's credit at the time and the ZIP code's wages.
 */
export async function generateCreditData(options: GenerateOptions): Promise<GenerateSummary> {
  const seed = options.seed ?? 42
  const asOfDay = Math.floor((options.asOf ?? new Date()).getTime() / 86_400_000) * 86_400_000
  const nLoans = options.loans ?? 28_000
  const nZipcodes = options.zipcodes ?? 28_800
  if (!Number.isInteger(nLoans) || nLoans < 10) throw new RangeError(`loans must be an integer >= 10, got ${nLoans}.`)
  if (!Number.isInteger(nZipcodes) || nZipcodes < 100 || nZipcodes > 40_000) throw new RangeError(`zipcodes must be an integer from 100 to 40,000, got ${nZipcodes}.`)

  const random = seededRandom(seed)
  const zips = makeZipcodes(nZipcodes, random)
  const { loans, credit } = makeLoansAndCredit(nLoans, zips, asOfDay * 1000, random)

  mkdirSync(options.dataDir, { recursive: true })
  // One thread: the Parquet writer then lays out row groups the same way on every run.
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await instance.connect()
  const files = {
    loans: join(options.dataDir, CREDIT_TABLES.loans.file),
    zipcodes: join(options.dataDir, CREDIT_TABLES.zipcodes.file),
    creditHistory: join(options.dataDir, CREDIT_TABLES.creditHistory.file),
  }
  try {
    await conn.run("SET TimeZone = 'UTC'")
    await stage(conn, 'zip_stage', zips.columns)
    await stage(conn, 'loan_stage', loans)
    await stage(conn, 'credit_stage', credit)
    await writeParquet(conn, 'zip_stage', 'zipcodes', files.zipcodes, 'zipcode')
    await writeParquet(conn, 'loan_stage', 'loans', files.loans, 'loan_id')
    await writeParquet(conn, 'credit_stage', 'creditHistory', files.creditHistory, 'dob_ssn, event_timestamp')
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
  const manifest: DataManifest = {
    origin: 'generated',
    seed,
    asOf: new Date(asOfDay).toISOString().slice(0, 10),
    generatorVersion: GENERATOR_VERSION,
    rows: { loans: nLoans, zipcodes: nZipcodes, creditHistory: (credit.get('dob_ssn') as string[]).length },
    writtenAt: new Date().toISOString(),
  }
  writeManifest(options.dataDir, manifest)
  return { manifest, files }
}

type Columns = Map<string, Float64Array | string[]>

/** Loads columns into a DuckDB table a chunk at a time (numbers as DOUBLE: exact up to 2^53). */
async function stage(conn: DuckDBConnection, table: string, columns: Columns): Promise<void> {
  const entries = [...columns.entries()]
  await conn.run(`CREATE TABLE ${table} (${entries.map(([name, v]) => `${name} ${Array.isArray(v) ? 'VARCHAR' : 'DOUBLE'}`).join(', ')})`)
  const n = entries[0]?.[1].length ?? 0
  const types = entries.map(([, v]) => (Array.isArray(v) ? VARCHAR : DOUBLE))
  const appender = await conn.createAppender(table)
  const CHUNK = 2048
  for (let off = 0; off < n; off += CHUNK) {
    const size = Math.min(CHUNK, n - off)
    const chunk = DuckDBDataChunk.create(types, size)
    entries.forEach(([, v], c) => chunk.setColumnValues(c, Array.isArray(v) ? v.slice(off, off + size) : Array.from(v.subarray(off, off + size))))
    appender.appendDataChunk(chunk)
  }
  appender.closeSync()
}

/** Casts a staged table to the tutorial's schema and writes it, sorted, through a temporary file. */
async function writeParquet(conn: DuckDBConnection, from: string, table: CreditTable, path: string, orderBy: string): Promise<void> {
  const select = CREDIT_TABLES[table].columns
    .map((c) => (c.type === 'TIMESTAMP WITH TIME ZONE' ? `make_timestamp(CAST(${c.name} AS BIGINT))::TIMESTAMPTZ AS ${c.name}` : `CAST(${c.name} AS ${c.type}) AS ${c.name}`))
    .join(', ')
  const tmp = `${path}.tmp`
  rmSync(tmp, { force: true })
  await conn.run(`COPY (SELECT ${select} FROM ${from} ORDER BY ${orderBy}) TO ${sqlString(tmp)} (FORMAT parquet)`)
  renameSync(tmp, path)
}

// ---------------------------------------------------------------------------------------------
// ZIP codes

/** State, share of ZIP codes (per mille, as in the tutorial's table), first and last 3-digit ZIP prefix. */
const STATES: ReadonlyArray<readonly [string, number, number, number]> = [
  ['MA', 19.1, 10, 27], ['RI', 2.5, 28, 29], ['NH', 8.3, 30, 38], ['ME', 12.1, 39, 49], ['VT', 7.4, 50, 59],
  ['CT', 9.6, 60, 69], ['NJ', 20.2, 70, 89], ['NY', 53.5, 100, 149], ['PA', 48.5, 150, 196], ['DE', 2.0, 197, 199],
  ['DC', 1.0, 200, 205], ['MD', 14.4, 206, 219], ['VA', 27.3, 220, 246], ['WV', 14.8, 247, 268], ['NC', 29.8, 270, 289],
  ['SC', 15.0, 290, 299], ['GA', 26.7, 300, 319], ['FL', 44.1, 320, 349], ['AL', 21.5, 350, 369], ['TN', 22.2, 370, 385],
  ['MS', 14.5, 386, 397], ['KY', 20.1, 400, 427], ['OH', 35.5, 430, 459], ['IN', 23.9, 460, 479], ['MI', 31.8, 480, 499],
  ['IA', 23.4, 500, 528], ['WI', 24.6, 530, 549], ['MN', 24.5, 550, 567], ['SD', 7.0, 570, 577], ['ND', 5.4, 580, 588],
  ['MT', 6.4, 590, 599], ['IL', 40.4, 600, 629], ['MO', 27.3, 630, 658], ['KS', 16.1, 660, 679], ['NE', 12.9, 680, 693],
  ['LA', 18.3, 700, 714], ['AR', 15.9, 716, 729], ['OK', 18.8, 730, 749], ['TX', 65.2, 750, 799], ['CO', 15.2, 800, 816],
  ['WY', 3.3, 820, 831], ['ID', 7.0, 832, 838], ['UT', 7.3, 840, 847], ['AZ', 14.6, 850, 865], ['NM', 8.7, 870, 884],
  ['NV', 6.2, 889, 898], ['CA', 67.3, 900, 961], ['HI', 3.6, 967, 968], ['OR', 12.1, 970, 979], ['WA', 18.5, 980, 994],
  ['AK', 3.8, 995, 999],
]

const NAME_STEMS = [
  'OAK', 'CEDAR', 'MAPLE', 'PINE', 'ELM', 'ASH', 'WILLOW', 'BIRCH', 'HICKORY', 'LAUREL', 'SPRING', 'RIVER', 'LAKE', 'BROOK',
  'STONE', 'ROCK', 'CLEAR', 'FAIR', 'GREEN', 'SILVER', 'GOLD', 'RED', 'WHITE', 'BLACK', 'MILL', 'HILL', 'WOOD', 'FOX',
  'BEAR', 'EAGLE', 'DEER', 'HAWK', 'CROW', 'SAND', 'CLAY', 'IRON', 'COPPER', 'SUMMER', 'WINTER', 'MORNING', 'MEADOW',
  'PLEASANT', 'HARMONY', 'LIBERTY', 'UNION', 'FRANKLIN', 'MADISON', 'JACKSON', 'MONROE', 'CLINTON', 'MARION', 'WARREN',
  'HAMILTON', 'GRANT', 'LINCOLN', 'WAYNE', 'GREENE', 'CARROLL', 'BENTON', 'HARRIS',
]
const NAME_SUFFIXES = [
  '', 'VILLE', 'TON', 'FIELD', 'FORD', 'DALE', 'WOOD', 'BURG', 'PORT', ' CITY', ' SPRINGS', ' FALLS', ' HEIGHTS',
  ' CREEK', ' VALLEY', ' GROVE', ' PARK', ' RIDGE', ' HARBOR', ' JUNCTION', ' CENTER', ' BLUFF', ' HOLLOW',
]
const NAME_PREFIXES = ['NORTH ', 'SOUTH ', 'EAST ', 'WEST ', 'NEW ', 'MOUNT ', 'PORT ', 'SAINT ']

interface Zipcodes {
  readonly columns: Columns
  readonly zipcode: Float64Array
  /** Population, for drawing where applicants live. */
  readonly population: Float64Array
  /** log(total wages per tax return), standardised: the ZIP code's affluence. */
  readonly affluence: Float64Array
}

function makeZipcodes(n: number, random: () => number): Zipcodes {
  const totalShare = STATES.reduce((a, s) => a + s[1], 0)
  const counts = STATES.map((s) => Math.max(1, Math.round((s[1] / totalShare) * n)))
  // Rounding leaves the total a few off; Texas (which holds 76104) absorbs the difference.
  const tx = STATES.findIndex((s) => s[0] === 'TX')
  counts[tx] = (counts[tx] as number) + n - counts.reduce((a, b) => a + b, 0)

  const zipcode = new Float64Array(n)
  const city: string[] = new Array<string>(n)
  const state: string[] = new Array<string>(n)
  let k = 0
  STATES.forEach(([code, , lo, hi], s) => {
    const want = counts[s] as number
    const chosen = new Set<number>(code === 'TX' ? [TUTORIAL_ZIPCODE] : [])
    const first = lo * 100
    const span = (hi - lo + 1) * 100
    while (chosen.size < want) chosen.add(first + Math.floor(random() * span))
    const sorted = [...chosen].sort((a, b) => a - b)
    // ZIP codes of one city are numerically close: cities take runs of consecutive codes.
    let name = ''
    for (const [i, z] of sorted.entries()) {
      if (i === 0 || random() < 0.5) name = cityName(random)
      zipcode[k] = z
      city[k] = name
      state[k] = code
      k++
    }
  })
  const tutorial = zipcode.indexOf(TUTORIAL_ZIPCODE)
  const tutorialCity = city[tutorial] as string
  for (let i = 0; i < n; i++) if (state[i] === 'TX' && city[i] === tutorialCity) city[i] = 'FORT WORTH'

  const returns = new Float64Array(n)
  const population = new Float64Array(n)
  const wages = new Float64Array(n)
  const affluence = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let r: number
    do r = Math.round(1900 * Math.exp(1.45 * normal(random)))
    while (r < 250 || r > 70_484)
    const logWage = Math.log(33_000) + 0.45 * normal(random)
    returns[i] = r
    population[i] = Math.round(r * 1.75 * Math.exp(0.12 * normal(random)))
    wages[i] = Math.round(r * Math.exp(logWage))
    affluence[i] = (logWage - Math.log(33_000)) / 0.45
  }
  const stamp = new Float64Array(n).fill(ZIPCODE_STAMP_US)
  const columns: Columns = new Map<string, Float64Array | string[]>([
    ['zipcode', zipcode],
    ['city', city],
    ['state', state],
    // Every ZIP code of the tutorial's table is a PRIMARY location.
    ['location_type', new Array<string>(n).fill('PRIMARY')],
    ['tax_returns_filed', returns],
    ['population', population],
    ['total_wages', wages],
    ['event_timestamp', stamp],
    ['created_timestamp', stamp],
  ])
  return { columns, zipcode, population, affluence }
}

function cityName(random: () => number): string {
  const stem = pick(NAME_STEMS, random)
  const suffix = pick(NAME_SUFFIXES, random)
  const prefix = random() < 0.15 ? pick(NAME_PREFIXES, random) : ''
  return `${prefix}${stem}${suffix}`
}

// ---------------------------------------------------------------------------------------------
// Applicants, loans and credit history

const HOME = { RENT: 0.7, OTHER: 0.5, MORTGAGE: -0.2, OWN: -0.9 } as const
const INTENTS: ReadonlyArray<readonly [string, number, number]> = [
  // intent, share of loans, effect on the log-odds of default
  ['EDUCATION', 0.199, -0.1], ['MEDICAL', 0.185, 0.3], ['VENTURE', 0.175, -0.35], ['PERSONAL', 0.17, 0],
  ['DEBTCONSOLIDATION', 0.159, 0.35], ['HOMEIMPROVEMENT', 0.112, 0.25],
]
/** Distributions of the count columns in the tutorial's credit history: P(value = index). */
const HARD_PULLS = [0.174, 0.174, 0.065, 0.066, 0.068, 0.086, 0.059, 0.078, 0.079, 0.082, 0.069]
const MISSED_2Y = [0.187, 0.204, 0.106, 0.111, 0.077, 0.094, 0.118, 0.103]
const MISSED_1Y = [0.4, 0.25, 0.2, 0.15]
const MISSED_6M = [0.59, 0.41]
const BANKRUPTCIES = [0.877, 0.062, 0.061]
/** Intercept of the default model, set so that about 22 % of loans default, as in the tutorial. */
const DEFAULT_INTERCEPT = -3.1

function makeLoansAndCredit(n: number, zips: Zipcodes, asOfUs: number, random: () => number): { loans: Columns; credit: Columns } {
  const zipPicker = weightedPicker(zips.population)
  const cols = {
    loan_id: new Float64Array(n),
    dob_ssn: new Array<string>(n),
    zipcode: new Float64Array(n),
    person_age: new Float64Array(n),
    person_income: new Float64Array(n),
    person_home_ownership: new Array<string>(n),
    person_emp_length: new Float64Array(n),
    loan_intent: new Array<string>(n),
    loan_amnt: new Float64Array(n),
    loan_int_rate: new Float64Array(n),
    loan_status: new Float64Array(n),
    event_timestamp: new Float64Array(n),
    created_timestamp: new Float64Array(n),
  }
  const credit = {
    event_timestamp: [] as number[],
    dob_ssn: [] as string[],
    credit_card_due: [] as number[],
    mortgage_due: [] as number[],
    student_loan_due: [] as number[],
    vehicle_loan_due: [] as number[],
    hard_pulls: [] as number[],
    missed_payments_2y: [] as number[],
    missed_payments_1y: [] as number[],
    missed_payments_6m: [] as number[],
    bankruptcies: [] as number[],
    created_timestamp: [] as number[],
  }
  const taken = new Set<string>([TUTORIAL_APPLICANT])
  const step = (365 * DAY_US) / n

  for (let i = 0; i < n; i++) {
    // The tutorial's applicant takes the second loan; everybody else gets a fresh identity.
    const applicant = i === 1 ? TUTORIAL_APPLICANT : newApplicant(taken, random)
    const loanAt = Math.round(LOANS_END_US - i * step - random() * step * 0.9)
    const z = normal(random) // credit quality: high is good
    const zi = zipPicker(random())
    const age = random() < 0.0005 ? 100 + Math.floor(random() * 45) : Math.min(84, 20 + Math.floor(6 * Math.exp(0.8 * normal(random))))
    // Log-normal, with a few very high earners as in the tutorial's table.
    let income = 55_700 * (1 + 0.012 * (age - 26)) * Math.exp(0.5 * normal(random) + 0.15 * z + (random() < 0.01 ? 1.5 * Math.abs(normal(random)) : 0))
    income = Math.min(6_000_000, Math.max(4_000, Math.round(income / 100) * 100))
    const u = random()
    const pMortgage = sigmoid(-0.55 + 1.2 * Math.log(income / 55_700) + 0.06 * (age - 27) + 0.25 * z)
    const home = u < 0.0033 ? 'OTHER' : u < 0.08 ? 'OWN' : random() < pMortgage ? 'MORTGAGE' : 'RENT'
    const emp = random() < 0.0001 ? 123 : Math.min(Math.max(age - 14, 0), Math.floor(-Math.log(1 - random()) * 5.6))
    const intent = pickWeighted(INTENTS, random)
    // Lenders cap a loan at about 80 % of a year's income, as the tutorial's loans show.
    let amount: number
    do amount = Math.min(35_000, Math.max(500, Math.round((8_000 * Math.pow(income / 55_700, 0.35) * Math.exp(0.62 * normal(random))) / 25) * 25))
    while (amount > 0.83 * income)
    const rate = Math.min(23.22, Math.max(5.42, Math.round((11 + 3.1 * (-0.65 * z + 0.76 * normal(random))) * 100) / 100))

    // Bureau snapshots every 45–200 days, from well before the loan to months after it.
    let ar = normal(random)
    let at = loanAt - Math.round((300 + random() * 240) * DAY_US)
    let stressAtLoan = 0
    let defaulted = false
    let decided = false
    const balances = [normal(random), normal(random), normal(random), normal(random)]
    while (at < loanAt + 150 * DAY_US) {
      if (!decided && at > loanAt) {
        defaulted = decide()
        decided = true
      }
      const stress = 0.75 * -z + 0.66 * ar
      if (at <= loanAt) stressAtLoan = stress
      snapshot(at, stress + (decided && defaulted ? 2 : 0))
      at += Math.round((45 + random() * 155) * DAY_US)
      ar = 0.7 * ar + 0.714 * normal(random)
    }
    if (!decided) defaulted = decide()
    // The current snapshot, which the online store serves: days to months before asOf.
    const ageDays = i === 1 ? 2.25 : 1 + random() * 149
    snapshot(asOfUs - Math.round(ageDays * DAY_US), 0.75 * -z + 0.66 * ar + (defaulted ? 1 : 0))

    cols.loan_id[i] = 10_000 + i
    cols.dob_ssn[i] = applicant
    cols.zipcode[i] = zips.zipcode[zi] as number
    cols.person_age[i] = age
    cols.person_income[i] = income
    cols.person_home_ownership[i] = home
    cols.person_emp_length[i] = emp
    cols.loan_intent[i] = intent[0]
    cols.loan_amnt[i] = amount
    cols.loan_int_rate[i] = rate
    cols.loan_status[i] = defaulted ? 1 : 0
    cols.event_timestamp[i] = loanAt
    cols.created_timestamp[i] = loanAt

    function decide(): boolean {
      const lti = amount / income
      const logit =
        DEFAULT_INTERCEPT +
        5 * lti +
        8 * Math.max(lti - 0.3, 0) +
        0.28 * (rate - 11) +
        HOME[home] +
        intent[2] -
        0.04 * Math.min(emp, 20) -
        0.5 * z +
        0.45 * stressAtLoan -
        0.15 * (zips.affluence[zi] as number)
      return random() < sigmoid(logit)
    }

    function snapshot(t: number, stress: number): void {
      const draw = (rho: number): number => normalCdf(rho * stress + Math.sqrt(1 - rho * rho) * normal(random))
      // Each balance follows its own persistent Gaussian process, mapped to a uniform share of its range.
      const balance = (k: number, rho: number): number => {
        const b = 0.9 * (balances[k] as number) + 0.436 * normal(random)
        balances[k] = b
        return Math.min(0.99999, normalCdf(rho * stress + Math.sqrt(1 - rho * rho) * b))
      }
      credit.event_timestamp.push(t)
      credit.created_timestamp.push(t + Math.round(random() * 1.5 * DAY_US))
      credit.dob_ssn.push(applicant)
      credit.credit_card_due.push(Math.floor(balance(0, 0.3) * 10_000))
      credit.mortgage_due.push(Math.floor(balance(1, 0) * 2_000_000))
      credit.student_loan_due.push(Math.floor(balance(2, 0.1) * 50_000))
      credit.vehicle_loan_due.push(Math.floor(balance(3, 0.2) * 30_000))
      credit.hard_pulls.push(quantile(HARD_PULLS, draw(0.35)))
      const m2 = quantile(MISSED_2Y, draw(0.6))
      const m1 = Math.min(m2, quantile(MISSED_1Y, draw(0.6)))
      credit.missed_payments_2y.push(m2)
      credit.missed_payments_1y.push(m1)
      credit.missed_payments_6m.push(Math.min(m1, quantile(MISSED_6M, draw(0.6))))
      credit.bankruptcies.push(quantile(BANKRUPTCIES, draw(0.4)))
    }
  }
  const loans: Columns = new Map(Object.entries(cols))
  const history: Columns = new Map(Object.entries(credit).map(([k, v]) => [k, k === 'dob_ssn' ? (v as string[]) : Float64Array.from(v as number[])]))
  return { loans, credit: history }
}

function newApplicant(taken: Set<string>, random: () => number): string {
  const first = Date.UTC(1945, 0, 1)
  const days = (Date.UTC(2001, 11, 31) - first) / 86_400_000
  for (;;) {
    const dob = new Date(first + Math.floor(random() * (days + 1)) * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '')
    const id = `${dob}_${String(Math.floor(random() * 10_000)).padStart(4, '0')}`
    if (!taken.has(id)) {
      taken.add(id)
      return id
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Random helpers

function normal(random: () => number): number {
  // Box–Muller; 1 - random() is in (0, 1], so the log is finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

/** The standard normal CDF (Abramowitz & Stegun 7.1.26, error < 1.5e-7). */
function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2)
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
  const erf = 1 - poly * Math.exp(-(x * x) / 2)
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x))
}

/** The value whose cumulative probability first reaches u. */
function quantile(probabilities: readonly number[], u: number): number {
  let acc = 0
  for (let v = 0; v < probabilities.length; v++) {
    acc += probabilities[v] as number
    if (u < acc) return v
  }
  return probabilities.length - 1
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T
}

function pickWeighted<T extends readonly [string, number, ...unknown[]]>(items: readonly T[], random: () => number): T {
  const total = items.reduce((a, it) => a + it[1], 0)
  let u = random() * total
  for (const it of items) {
    u -= it[1]
    if (u < 0) return it
  }
  return items[items.length - 1] as T
}

/** Draws indices with probability proportional to their weight, from a uniform number in [0, 1). */
function weightedPicker(weights: Float64Array): (u: number) => number {
  const cumulative = new Float64Array(weights.length)
  let acc = 0
  weights.forEach((w, i) => {
    acc += w
    cumulative[i] = acc
  })
  return (u) => {
    const target = u * acc
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((cumulative[mid] as number) > target) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}
