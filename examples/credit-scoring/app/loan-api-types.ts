import type { LoanFormErrors, LoanFormValues } from './loan-form.js'

/** The JSON of the loan page's endpoints (`app/loan-app.ts`), shared with the page. Types only. */

export type ValueStatus = 'REQUEST' | 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE' | 'INVALID'

export interface VectorValue {
  readonly name: string
  /** `entity` (a join key), `request` (the application's own data) or the feature view the value came from. */
  readonly source: string
  readonly value: unknown
  readonly status: ValueStatus
  /** Event time of the stored row the value came from; null for request data and on-demand features. */
  readonly eventTime: string | null
  readonly ageSeconds: number | null
}

export interface Contribution {
  /** A model input. */
  readonly feature: string
  /** Its value for this application, as the model saw it (null when missing). */
  readonly value: unknown
  /** Its SHAP value: how far it moved this decision's log-odds of default from the base value. */
  readonly shap: number
}

export interface LoanDecisionResponse {
  /** The form as accepted (trimmed, upper-cased choices). */
  readonly form: LoanFormValues
  /** What was sent to `getOnlineFeatures`: the entity row and the loan request. */
  readonly request: Readonly<Record<string, unknown>>
  readonly featureService: string
  /** Every value fetched online for the request, in the service's order. */
  readonly vector: readonly VectorValue[]
  readonly decision: {
    readonly approved: boolean
    /** The model's probability that the loan defaults. */
    readonly probability: number
    /** Rejected at this probability or more. */
    readonly threshold: number
    readonly logOdds: number
  }
  readonly explanation: {
    /** Log-odds of default the model starts from (its average over the training rows). */
    readonly baseValue: number
    readonly baseProbability: number
    /** Every model input, largest |shap| first; baseValue + Σ shap = decision.logOdds. */
    readonly contributions: readonly Contribution[]
  }
  readonly timings: {
    /** The online feature fetch (store round trip, decoding, on-demand features). */
    readonly fetchMs: number
    readonly modelMs: number
    readonly explainMs: number
  }
  /** Things the applicant should know, e.g. features not found. */
  readonly notices: readonly string[]
}

export interface LoanModelResponse {
  readonly project: string
  readonly featureService: string
  readonly trees: number
  readonly inputs: number
  readonly trainedAt: string
  readonly holdoutAuc: number
  readonly holdoutAccuracy: number
  readonly threshold: number
  readonly baseValue: number
  readonly importance: {
    /** `mean_abs_shap`: mean |SHAP| over a fixed sample of the training set; `gain` when that set cannot be read. */
    readonly method: 'mean_abs_shap' | 'gain'
    readonly rows: number
    readonly note: string
    readonly features: ReadonlyArray<{ readonly feature: string; readonly value: number }>
  }
  readonly sample: LoanFormValues
}

export interface LoanErrorResponse {
  readonly error: { readonly code: string; readonly message: string; readonly fields?: LoanFormErrors }
}
