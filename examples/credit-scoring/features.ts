import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, RequestSource, types } from 'morsel'

// ZIP codes: where an applicant lives.
export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64, description: 'A US ZIP code' })

// Applicants, identified by date of birth and the last four digits of their social security number.
export const dobSsn = new Entity({
  name: 'dob_ssn',
  valueType: types.String,
  description: "An applicant: date of birth and last four digits of the SSN, as 'YYYYMMDD_NNNN'",
})

// Census and tax statistics per ZIP code. They change slowly, hence the ten-year ttl.
export const zipcodeFeatures = new FeatureView({
  name: 'zipcode_features',
  entities: [zipcode],
  ttl: { days: 3650 },
  schema: {
    city: types.String,
    state: types.String,
    location_type: types.String,
    tax_returns_filed: types.Int64,
    population: types.Int64,
    total_wages: types.Int64,
  },
  source: new FileSource({
    name: 'zipcode_source',
    path: 'data/zipcode_table.parquet',
    timestampField: 'event_timestamp',
    createdTimestampColumn: 'created_timestamp',
  }),
  tags: { source: 'census' },
})

// Credit-bureau snapshots per applicant. A snapshot older than 90 days says too little about an
// applicant's credit today: training sets leave it out, and online reads report OUTSIDE_MAX_AGE.
export const creditHistory = new FeatureView({
  name: 'credit_history',
  entities: [dobSsn],
  ttl: { days: 90 },
  schema: {
    credit_card_due: types.Int64,
    mortgage_due: types.Int64,
    student_loan_due: types.Int64,
    vehicle_loan_due: types.Int64,
    hard_pulls: types.Int64,
    missed_payments_2y: types.Int64,
    missed_payments_1y: types.Int64,
    missed_payments_6m: types.Int64,
    bankruptcies: types.Int64,
  },
  source: new FileSource({
    name: 'credit_history_source',
    path: 'data/credit_history.parquet',
    timestampField: 'event_timestamp',
    createdTimestampColumn: 'created_timestamp',
  }),
  tags: { source: 'credit_bureau' },
})

// The loan application itself: it arrives with each request (and, for training, sits in the loan table).
export const loanRequest = new RequestSource({
  name: 'loan_request',
  schema: {
    person_age: types.Int64,
    person_income: types.Int64,
    person_home_ownership: types.String,
    person_emp_length: types.Float64,
    loan_intent: types.String,
    loan_amnt: types.Int64,
    loan_int_rate: types.Float64,
  },
})

// Ratios computed at request time from the application and the applicant's credit history:
// outstanding debt (all four balances) and the requested loan, each over the yearly income.
export const loanRatios = new OnDemandFeatureView({
  name: 'loan_ratios',
  sources: [creditHistory.select(['credit_card_due', 'mortgage_due', 'student_loan_due', 'vehicle_loan_due']), loanRequest],
  schema: { debt_to_income: types.Float64, loan_to_income: types.Float64 },
  udf: (r) => {
    const income = r.person_income
    if (income === null || income <= 0) return { debt_to_income: null, loan_to_income: null }
    const dues = [r.credit_card_due, r.mortgage_due, r.student_loan_due, r.vehicle_loan_due]
    const debtKnown = dues.every((d) => d !== null)
    return {
      debt_to_income: debtKnown ? dues.reduce((sum: number, d) => sum + (d ?? 0), 0) / income : null,
      loan_to_income: r.loan_amnt === null ? null : r.loan_amnt / income,
    }
  },
})

// What the loan-approval model consumes, for training and for serving alike.
export const creditScoringV1 = new FeatureService({
  name: 'credit_scoring_v1',
  features: [zipcodeFeatures, creditHistory, loanRatios],
  description: 'Inputs of the loan-approval model (with the loan application itself)',
})
