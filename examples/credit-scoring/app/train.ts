import type { FeatureStore } from 'morsel'
import { creditScoringV1 } from '../features.js'
import { CreditModel, LABEL, modelColumns } from './credit-model.js'
import { binaryMetrics } from './gbdt/metrics.js'
import { TabularEncoder } from './gbdt/tabular-encoder.js'
import { trainGbdt, type GbdtParams } from './gbdt/train-gbdt.js'

export interface TrainingSetOptions {
  readonly store: FeatureStore
  /** The loan table: the training set's entity rows, with the application columns and the label. */
  readonly loanTable: string
}

/** Loans with their features as of their own date, oldest first, and their 0/1 outcomes. */
export interface TrainingSet {
  readonly rows: ReadonlyArray<Record<string, unknown>>
  readonly labels: Uint8Array
  /** Event time of each row, epoch milliseconds. */
  readonly times: Float64Array
}

export interface FitOptions {
  /** Share of the latest loans held out to measure the model. Default 0.2. */
  readonly holdoutFraction?: number
  readonly params?: Partial<GbdtParams>
  /** Recorded in the model file: where the data came from. */
  readonly data?: Readonly<Record<string, unknown>>
}

/** Trees, depth and rate chosen on the generated data's held-out loans; categories as rare below 30 loans. */
export const CREDIT_GBDT_PARAMS: Partial<GbdtParams> = { nTrees: 100, maxDepth: 4, learningRate: 0.15, minSamplesLeaf: 20, subsample: 0.8, seed: 7 }
const ENCODER_OPTIONS = { minCategoryCount: 30, smoothing: 30 }

/**
 * The point-in-time-correct training set: every loan gets the feature values as they were when it
 * was granted (the credit snapshot at most 90 days older, the ZIP code statistics at most 10 years
 * older) and the on-demand ratios computed from them, by the offline store from the feature
 * service, so that training sees exactly what serving will.
 */
export async function loadTrainingSet(options: TrainingSetOptions): Promise<TrainingSet> {
  const job = options.store.getHistoricalFeatures({ entities: { path: options.loanTable }, featureService: creditScoringV1 })
  const rows = await job.toRows()
  if (rows.length < 100) throw new Error(`The loan table ${options.loanTable} has ${rows.length} loans; training needs at least 100.`)
  const time = (r: Record<string, unknown>): number => (r.event_timestamp instanceof Date ? r.event_timestamp.getTime() : Date.parse(String(r.event_timestamp)))
  rows.sort((a, b) => time(a) - time(b))
  const labels = Uint8Array.from(rows, (r, i) => {
    const y = Number(r[LABEL])
    if (y !== 0 && y !== 1) throw new Error(`Loan ${JSON.stringify(r.loan_id ?? i)} has ${LABEL} ${JSON.stringify(r[LABEL])}; it must be 0 or 1.`)
    return y
  })
  return { rows, labels, times: Float64Array.from(rows, time) }
}

/**
 * Fits the loan-default model. The latest loans are held out, as a model is used on loans that
 * come after the ones it learnt from; the metrics on them go into the model file.
 */
export function fitCreditModel(set: TrainingSet, options: FitOptions = {}): CreditModel {
  const { rows, labels } = set
  const fraction = options.holdoutFraction ?? 0.2
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`holdoutFraction must be between 0 and 1, got ${fraction}.`)
  const cut = Math.floor(rows.length * (1 - fraction))
  const train = rows.slice(0, cut)
  const holdout = rows.slice(cut)
  const trainLabels = labels.subarray(0, cut)
  const holdoutLabels = labels.subarray(cut)

  const encoder = TabularEncoder.fit(modelColumns(), train, trainLabels, ENCODER_OPTIONS)
  const trainColumns = encoder.encodeColumns(train)
  const gbdt = trainGbdt(trainColumns, trainLabels, encoder.featureNames, { ...CREDIT_GBDT_PARAMS, ...options.params })
  const covered = rows.filter((r) => r.credit_card_due !== null && r.credit_card_due !== undefined).length
  return new CreditModel(encoder, gbdt, 0.5, {
    featureService: creditScoringV1.name,
    trainedAt: new Date().toISOString(),
    rows: rows.length,
    trainRows: train.length,
    holdoutRows: holdout.length,
    holdoutFrom: new Date(set.times[cut] as number).toISOString(),
    creditHistoryCoverage: covered / rows.length,
    train: binaryMetrics(gbdt.predictColumns(trainColumns), trainLabels),
    holdout: binaryMetrics(gbdt.predictColumns(encoder.encodeColumns(holdout)), holdoutLabels),
    data: options.data ?? {},
  })
}
