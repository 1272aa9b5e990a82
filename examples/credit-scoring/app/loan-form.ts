import type { LoanApplication } from './score.js'

/**
 * The loan application form, as the page and the decision endpoint both read it: one set of rules
 * checked in the browser before sending and again on the server, so that every mistake comes back
 * as a message beside its field. Runs in both places: imports nothing but types.
 */

/** The form's fields, as typed (text). */
export interface LoanFormValues {
  readonly zipcode: string
  /** YYYY-MM-DD. */
  readonly dateOfBirth: string
  readonly ssnLast4: string
  readonly age: string
  readonly income: string
  readonly homeOwnership: string
  /** Years, may have a fraction. */
  readonly employmentLength: string
  readonly loanIntent: string
  readonly amount: string
  /** Percent a year. */
  readonly interestRate: string
}

export type LoanField = keyof LoanFormValues
export type LoanFormErrors = Partial<Record<LoanField, string>>

export const HOME_OWNERSHIP = ['RENT', 'OWN', 'MORTGAGE', 'OTHER'] as const
export const LOAN_INTENTS = ['PERSONAL', 'EDUCATION', 'MEDICAL', 'VENTURE', 'HOMEIMPROVEMENT', 'DEBTCONSOLIDATION'] as const

export const FIELD_LABELS: Readonly<Record<LoanField, string>> = {
  zipcode: 'ZIP code',
  dateOfBirth: 'Date of birth',
  ssnLast4: 'SSN, last four digits',
  age: 'Age',
  income: 'Yearly income ($)',
  homeOwnership: 'Home ownership',
  employmentLength: 'Employment length (years)',
  loanIntent: 'Loan intent',
  amount: 'Loan amount ($)',
  interestRate: 'Interest rate (%)',
}

export const LOAN_FIELDS = Object.keys(FIELD_LABELS) as LoanField[]

/** The applicant of Feast's credit-scoring tutorial (its sample request). */
export const TUTORIAL_FORM: LoanFormValues = {
  zipcode: '76104',
  dateOfBirth: '1963-06-21',
  ssnLast4: '4278',
  age: '133',
  income: '59000',
  homeOwnership: 'RENT',
  employmentLength: '123.0',
  loanIntent: 'PERSONAL',
  amount: '35000',
  interestRate: '16.02',
}

export type ParsedLoanForm =
  | { readonly ok: true; readonly values: LoanFormValues; readonly application: LoanApplication }
  | { readonly ok: false; readonly errors: LoanFormErrors }

const LIMITS = {
  age: [18, 150],
  income: [1, 100_000_000],
  employmentLength: [0, 150],
  amount: [1, 10_000_000],
  interestRate: [0.01, 100],
} as const

/**
 * Checks a submitted form and turns it into the decision service's request: the entity row
 * (`zipcode`, and `dob_ssn` as YYYYMMDD_NNNN from the date of birth and the SSN digits) with the
 * loan request's fields. Accepts numbers or text for every field; anything else is a mistake.
 *
 * @param today the date the date of birth must not be after (the server's day)
 */
export function parseLoanForm(input: unknown, today: Date = new Date()): ParsedLoanForm {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, errors: Object.fromEntries(LOAN_FIELDS.map((f) => [f, 'Missing.'])) }
  }
  const raw = input as Record<string, unknown>
  const errors: LoanFormErrors = {}
  const text = (f: LoanField): string => {
    const v = raw[f]
    if (typeof v === 'string') return v.trim()
    if (typeof v === 'number' && Number.isFinite(v)) return String(v)
    return ''
  }
  const values = Object.fromEntries(LOAN_FIELDS.map((f) => [f, text(f)])) as unknown as LoanFormValues

  const zipcode = values.zipcode
  if (zipcode === '') errors.zipcode = 'Enter the ZIP code.'
  else if (!/^\d{5}$/.test(zipcode)) errors.zipcode = 'A ZIP code is 5 digits, e.g. 76104.'

  const dob = values.dateOfBirth
  const dobMatch = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dob)
  if (dob === '') errors.dateOfBirth = 'Enter the date of birth.'
  else if (dobMatch === null) errors.dateOfBirth = 'Give the date of birth as YYYY-MM-DD, e.g. 1963-06-21.'
  else {
    const [, y, m, d] = dobMatch.map(Number) as [number, number, number, number]
    const date = new Date(Date.UTC(y, m - 1, d))
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) errors.dateOfBirth = `${dob} is not a date in the calendar.`
    else if (y < 1900) errors.dateOfBirth = 'The date of birth must be in 1900 or later.'
    else if (date.getTime() > Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())) errors.dateOfBirth = 'The date of birth cannot be in the future.'
  }

  const ssn = values.ssnLast4
  if (ssn === '') errors.ssnLast4 = 'Enter the last four digits of the SSN.'
  else if (!/^\d{4}$/.test(ssn)) errors.ssnLast4 = 'Give exactly four digits, e.g. 4278.'

  const age = integer(values.age, 'age', errors, 'an age in whole years')
  const income = integer(values.income, 'income', errors, 'the yearly income in whole dollars, e.g. 59000')
  const emp = decimal(values.employmentLength, 'employmentLength', errors, 'the years employed, e.g. 4 or 2.5')
  const amount = integer(values.amount, 'amount', errors, 'the amount in whole dollars, e.g. 35000')
  const rate = decimal(values.interestRate, 'interestRate', errors, 'the yearly rate in percent, e.g. 16.02')

  const home = values.homeOwnership.toUpperCase()
  if (home === '') errors.homeOwnership = 'Choose the home ownership.'
  else if (!(HOME_OWNERSHIP as readonly string[]).includes(home)) errors.homeOwnership = `Choose one of ${HOME_OWNERSHIP.join(', ')}.`
  const intent = values.loanIntent.toUpperCase()
  if (intent === '') errors.loanIntent = 'Choose the loan intent.'
  else if (!(LOAN_INTENTS as readonly string[]).includes(intent)) errors.loanIntent = `Choose one of ${LOAN_INTENTS.join(', ')}.`

  if (Object.keys(errors).length > 0) return { ok: false, errors }
  return {
    ok: true,
    values: { ...values, homeOwnership: home, loanIntent: intent },
    application: {
      zipcode: Number(zipcode),
      dob_ssn: `${dob.replaceAll('-', '')}_${ssn}`,
      person_age: age as number,
      person_income: income as number,
      person_home_ownership: home,
      person_emp_length: emp as number,
      loan_intent: intent,
      loan_amnt: amount as number,
      loan_int_rate: rate as number,
    },
  }
}

type NumericField = keyof typeof LIMITS

function integer(text: string, field: NumericField, errors: LoanFormErrors, what: string): number | undefined {
  if (text === '') {
    errors[field] = `Enter ${what}.`
    return undefined
  }
  if (!/^\d+$/.test(text)) {
    errors[field] = `Give ${what}: digits only.`
    return undefined
  }
  return inRange(Number(text), field, errors)
}

function decimal(text: string, field: NumericField, errors: LoanFormErrors, what: string): number | undefined {
  if (text === '') {
    errors[field] = `Enter ${what}.`
    return undefined
  }
  if (!/^\d+(\.\d+)?$/.test(text)) {
    errors[field] = `Give ${what}: a number.`
    return undefined
  }
  return inRange(Number(text), field, errors)
}

function inRange(n: number, field: NumericField, errors: LoanFormErrors): number | undefined {
  const [min, max] = LIMITS[field]
  if (n < min || n > max) {
    errors[field] = `${FIELD_LABELS[field].replace(/ \(.*\)$/, '')} must be from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}.`
    return undefined
  }
  return n
}
