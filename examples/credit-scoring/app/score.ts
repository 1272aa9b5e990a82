import type { FeatureStore, FieldStatusName } from 'morsel'
import { creditScoringV1 } from '../features.js'
import type { CreditModel } from './credit-model.js'

/** A loan application as it reaches the decision service: who applies, from where, for what. */
// A type rather than an interface, so that it is a plain record of entity and request values.
export type LoanApplication = {
  readonly zipcode: number
  readonly dob_ssn: string
  readonly person_age: number
  readonly person_income: number
  readonly person_home_ownership: string
  readonly person_emp_length: number
  readonly loan_intent: string
  readonly loan_amnt: number
  readonly loan_int_rate: number
}

/** The request of Feast's credit-scoring tutorial. */
export const TUTORIAL_APPLICATION: LoanApplication = {
  zipcode: 76104,
  dob_ssn: '19630621_4278',
  person_age: 133,
  person_income: 59_000,
  person_home_ownership: 'RENT',
  person_emp_length: 123.0,
  loan_intent: 'PERSONAL',
  loan_amnt: 35_000,
  loan_int_rate: 16.02,
}

export interface ScoredValue {
  readonly name: string
  readonly value: unknown
  /** `REQUEST` for values the application carried; otherwise the online store's status. */
  readonly status: FieldStatusName | 'REQUEST'
  readonly eventTime: Date | null
}

export interface LoanDecision {
  /** Every model input: the application's values, then the features served for it. */
  readonly vector: readonly ScoredValue[]
  readonly probability: number
  readonly approved: boolean
  /** Time of the online read, the on-demand features included. */
  readonly readMs: number
}

/**
 * Decides one loan as a live service would: the feature service's features for the applicant and
 * the ZIP code from the online store (the on-demand ratios computed from the application on the
 * way), then the model.
 */
export async function decideLoan(store: FeatureStore, model: CreditModel, application: LoanApplication): Promise<LoanDecision> {
  const t0 = performance.now()
  const response = await store.getOnlineFeatures({ featureService: creditScoringV1, entityRows: [application] })
  const readMs = performance.now() - t0
  // Typed by the service: `features.city` is a string | null, `features.debt_to_income` a number | null.
  const [features] = response.toRows()
  const { approved, probability } = model.decide({ ...application, ...features })
  const vector = response.featureNames.map((name, c): ScoredValue => ({
    name,
    value: response.value(name),
    status: c < response.requestColumns ? 'REQUEST' : response.status(name),
    eventTime: response.eventTime(name),
  }))
  return { vector, probability, approved, readMs }
}
