import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { FeatureView, FeatureViewProjection, FieldSpec, OnDemandFeatureView } from 'morsel'
import { creditScoringV1, loanRequest } from '../features.js'
import { GbdtModel, type GbdtModelJson } from './gbdt/gbdt-model.js'
import type { BinaryMetrics } from './gbdt/metrics.js'
import { TabularEncoder, type ColumnSpec, type TabularEncoderJson } from './gbdt/tabular-encoder.js'

/** Where the trained model is kept, relative to the feature repository (git-ignored). */
export const MODEL_FILE = 'model/credit-model.json'

/** The column the model predicts: 1 when the loan defaulted. */
export const LABEL = 'loan_status'

/**
 * The model's inputs: the loan application (the request data) and then every feature of the
 * feature service, in the service's order. Text columns are categorical.
 */
export function modelColumns(): ColumnSpec[] {
  const members: ReadonlyArray<FeatureView | FeatureViewProjection | OnDemandFeatureView> = creditScoringV1.members
  const serviceFields: FieldSpec[] = members.flatMap((m): FieldSpec[] =>
    'view' in m ? m.view.spec.features.filter((f) => m.features.includes(f.name)) : [...m.spec.features],
  )
  return [...loanRequest.spec.schema, ...serviceFields].map((f) => ({ name: f.name, kind: f.dtype === 'String' ? 'categorical' : 'numeric' }))
}

/** How the model was trained and how well it did, kept in the model file. */
export interface TrainingRecord {
  readonly featureService: string
  readonly trainedAt: string
  /** Loans in the training set, and how they were split (the latest `holdoutRows` were held out). */
  readonly rows: number
  readonly trainRows: number
  readonly holdoutRows: number
  /** Loans at or after this time form the held-out set. */
  readonly holdoutFrom: string
  /** Share of loans that had a credit-history snapshot within its ttl at loan time. */
  readonly creditHistoryCoverage: number
  readonly train: BinaryMetrics
  readonly holdout: BinaryMetrics
  /** The data the model was trained on (from the data folder's manifest). */
  readonly data: Readonly<Record<string, unknown>>
}

interface CreditModelFile {
  readonly format: 'credit-scoring-model'
  readonly version: 1
  /** A loan whose predicted default probability reaches this is rejected. */
  readonly threshold: number
  readonly encoder: TabularEncoderJson
  readonly gbdt: GbdtModelJson
  readonly training: TrainingRecord
}

/** A trained loan-default model: the encoder of its inputs, the trees and the approval threshold. */
export class CreditModel {
  readonly encoder: TabularEncoder
  readonly gbdt: GbdtModel
  readonly threshold: number
  readonly training: TrainingRecord

  constructor(encoder: TabularEncoder, gbdt: GbdtModel, threshold: number, training: TrainingRecord) {
    this.encoder = encoder
    this.gbdt = gbdt
    this.threshold = threshold
    this.training = training
  }

  /** The probability that a loan defaults, from its application and features (by column name; null is missing). */
  defaultProbability(row: Readonly<Record<string, unknown>>): number {
    return this.gbdt.predictProba(this.encoder.encodeRow(row))
  }

  /** Approve when the default probability stays below the threshold. */
  decide(row: Readonly<Record<string, unknown>>): { readonly approved: boolean; readonly probability: number } {
    const probability = this.defaultProbability(row)
    return { approved: probability < this.threshold, probability }
  }

  /** True when the model takes exactly the inputs the feature service and the request now define. */
  matchesDefinitions(): boolean {
    const now = modelColumns()
    const had = this.encoder.columns
    return now.length === had.length && now.every((c, i) => c.name === had[i]?.name && c.kind === had[i]?.kind)
  }

  toJSON(): CreditModelFile {
    return { format: 'credit-scoring-model', version: 1, threshold: this.threshold, encoder: this.encoder.toJSON(), gbdt: this.gbdt.toJSON(), training: this.training }
  }

  /** Writes the model file whole or not at all. */
  save(path: string): void {
    mkdirSync(dirname(path), { recursive: true })
    const tmp = `${path}.tmp`
    writeFileSync(tmp, `${JSON.stringify(this)}\n`)
    renameSync(tmp, path)
  }

  static load(path: string): CreditModel {
    let json: Partial<CreditModelFile>
    try {
      json = JSON.parse(readFileSync(path, 'utf8')) as Partial<CreditModelFile>
    } catch (err) {
      throw new Error(`Cannot read the model file ${path}: ${(err as Error).message}. Delete it to train a new model.`, { cause: err })
    }
    if (json.format !== 'credit-scoring-model' || json.version !== 1 || typeof json.threshold !== 'number' || json.training === undefined) {
      throw new Error(`${path} is not a credit-scoring model file (version 1). Delete it to train a new model.`)
    }
    let encoder: TabularEncoder
    let gbdt: GbdtModel
    try {
      encoder = TabularEncoder.fromJSON(json.encoder)
      gbdt = GbdtModel.fromJSON(json.gbdt)
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message} Delete it to train a new model.`, { cause: err })
    }
    if (gbdt.featureNames.join() !== encoder.featureNames.join()) throw new Error(`${path}: the encoder's columns and the trees' features differ. Delete it to train a new model.`)
    return new CreditModel(encoder, gbdt, json.threshold, json.training)
  }
}
