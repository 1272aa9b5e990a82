import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { FeatureStore } from 'morsel'
import { MorselError } from 'morsel'
import { creditScoringV1 } from '../features.js'
import { CreditModel, MODEL_FILE } from './credit-model.js'
import { CREDIT_TABLES } from './credit-tables.js'
import { sigmoid } from './gbdt/gbdt-model.js'
import { TreeExplainer } from './gbdt/tree-shap.js'
import type { Contribution, LoanDecisionResponse, LoanModelResponse, VectorValue } from './loan-api-types.js'
import { TUTORIAL_FORM, type LoanFormValues } from './loan-form.js'
import type { LoanApplication } from './score.js'
import { loadTrainingSet } from './train.js'

/** Training rows the global importance is averaged over (evenly spaced, so always the same ones). */
export const IMPORTANCE_SAMPLE = 2000

interface LoadedModel {
  readonly model: CreditModel
  readonly explainer: TreeExplainer
  /** mtime and size of the file it was read from: a retrained model is picked up. */
  readonly stamp: string
  importance?: Promise<LoanModelResponse['importance']>
}

/**
 * The loan decision service behind the page: the trained model (re-read when the quickstart
 * retrains it), decisions with the features fetched online and their TreeSHAP explanation, and
 * the model's global feature importance.
 */
export class LoanService {
  readonly store: FeatureStore
  private readonly modelPath: string
  private loaded: LoadedModel | undefined

  constructor(store: FeatureStore) {
    this.store = store
    this.modelPath = join(store.config.repoPath, MODEL_FILE)
  }

  /** The current model, or MORSEL_NOT_FOUND saying how to train one. */
  current(): LoadedModel {
    let stamp: string
    try {
      const s = statSync(this.modelPath)
      stamp = `${s.mtimeMs}:${s.size}`
    } catch {
      throw new MorselError('MORSEL_NOT_FOUND', `No trained model at ${MODEL_FILE} in ${this.store.config.repoPath}: run \`npm start\` (the quickstart trains it), then reload this page.`)
    }
    if (this.loaded?.stamp !== stamp) {
      let model: CreditModel
      try {
        model = CreditModel.load(this.modelPath)
      } catch (err) {
        throw new MorselError('MORSEL_NOT_FOUND', `${(err as Error).message} (\`npm start\` trains a new one.)`, { cause: err })
      }
      this.loaded = { model, explainer: new TreeExplainer(model.gbdt), stamp }
    }
    return this.loaded
  }

  /**
   * Decides one application as a live service would, and explains the decision: the feature
   * service's features fetched online for the applicant and the ZIP code (the on-demand ratios
   * computed on the way), the model's probability, and each input's SHAP value.
   */
  async decide(form: LoanFormValues, application: LoanApplication): Promise<LoanDecisionResponse> {
    const { model, explainer } = this.current()
    const t0 = performance.now()
    const response = await this.store.getOnlineFeatures({ featureService: creditScoringV1, entityRows: [application] })
    const fetchMs = performance.now() - t0
    // Typed by the service: `features.city` is string | null, `features.debt_to_income` number | null.
    const [features] = response.toRows()
    const row: Record<string, unknown> = { ...application, ...features }

    const t1 = performance.now()
    const { approved, probability } = model.decide(row)
    const modelMs = performance.now() - t1
    const t2 = performance.now()
    const explained = explainer.explain(model.encoder.encodeRow(row))
    const explainMs = performance.now() - t2

    const viewOf = this.viewsOfFeatures()
    const joinKeys = new Set(['zipcode', 'dob_ssn'])
    const now = Date.now()
    const vector = response.featureNames.map((name, c): VectorValue => {
      const eventTime = response.eventTime(name)
      const isRequest = c < response.requestColumns
      return {
        name,
        source: isRequest ? (joinKeys.has(name) ? 'entity' : 'request') : (viewOf.get(name) ?? 'feature'),
        value: jsonValue(response.value(name)),
        status: isRequest ? 'REQUEST' : response.status(name),
        eventTime: eventTime?.toISOString() ?? null,
        ageSeconds: eventTime !== null ? Math.max(0, (now - eventTime.getTime()) / 1000) : null,
      }
    })
    const contributions: Contribution[] = model.encoder.featureNames
      .map((feature, f) => ({ feature, value: jsonValue(row[feature] ?? null), shap: explained.contributions[f] as number }))
      .sort((a, b) => Math.abs(b.shap) - Math.abs(a.shap) || (a.feature < b.feature ? -1 : 1))

    return {
      form,
      request: { ...application },
      featureService: creditScoringV1.name,
      vector,
      decision: { approved, probability, threshold: model.threshold, logOdds: explained.output },
      explanation: { baseValue: explained.baseValue, baseProbability: sigmoid(explained.baseValue), contributions },
      timings: { fetchMs, modelMs, explainMs },
      notices: notices(vector, application),
    }
  }

  /** The model's description and global importance (computed once per model, in the background of the first call). */
  async describe(): Promise<LoanModelResponse> {
    const loaded = this.current()
    const { model } = loaded
    loaded.importance ??= this.importance(loaded)
    return {
      project: this.store.project,
      featureService: creditScoringV1.name,
      trees: model.gbdt.trees.length,
      inputs: model.encoder.columns.length,
      trainedAt: model.training.trainedAt,
      holdoutAuc: model.training.holdout.auc,
      holdoutAccuracy: model.training.holdout.accuracy,
      threshold: model.threshold,
      baseValue: loaded.explainer.baseValue,
      importance: await loaded.importance,
      sample: TUTORIAL_FORM,
    }
  }

  /** Starts computing the global importance now, so that it is ready when the page asks. */
  warmUp(): void {
    try {
      const loaded = this.current()
      loaded.importance ??= this.importance(loaded)
    } catch {
      // No model yet: the page says so when it asks.
    }
  }

  /** Resolves once no importance computation is running. */
  async idle(): Promise<void> {
    await this.loaded?.importance
  }

  /**
   * Mean |SHAP| per input over an evenly spaced sample of the model's training rows (the
   * point-in-time training set, re-read from the offline store): deterministic for a given model
   * and data. Gain-based when the loan table cannot be read, and the note says why.
   */
  private async importance(loaded: LoadedModel): Promise<LoanModelResponse['importance']> {
    const { model, explainer } = loaded
    const names = model.encoder.featureNames
    try {
      const set = await loadTrainingSet({ store: this.store, loanTable: join(this.store.config.repoPath, 'data', CREDIT_TABLES.loans.file) })
      const trainRows = Math.min(model.training.trainRows, set.rows.length)
      const n = Math.min(IMPORTANCE_SAMPLE, trainRows)
      const sample = Array.from({ length: n }, (_, i) => model.encoder.encodeRow(set.rows[Math.floor((i * trainRows) / n)] as Record<string, unknown>))
      const mean = explainer.meanAbsoluteShap(sample)
      return {
        method: 'mean_abs_shap',
        rows: n,
        note: `Mean |SHAP| (log-odds) over ${n.toLocaleString('en-US')} evenly spaced rows of the ${trainRows.toLocaleString('en-US')} the model was trained on.`,
        features: sortDesc(names.map((feature, f) => ({ feature, value: mean[f] as number }))),
      }
    } catch (err) {
      const gain = model.gbdt.featureImportance()
      return {
        method: 'gain',
        rows: 0,
        note: `Share of the trees' split gain; the training set could not be read for mean |SHAP| (${(err as Error).message}).`,
        features: sortDesc(names.map((feature) => ({ feature, value: gain[feature] ?? 0 }))),
      }
    }
  }

  private viewsOfFeatures(): Map<string, string> {
    const out = new Map<string, string>()
    const snapshot = this.store.registry.current()
    const service = snapshot?.featureServices.get(creditScoringV1.name)
    for (const p of service?.projections ?? []) for (const f of p.features) out.set(f, p.view)
    return out
  }
}

function notices(vector: readonly VectorValue[], application: LoanApplication): string[] {
  const out: string[] = []
  const byView = new Map<string, VectorValue[]>()
  for (const v of vector) if (v.status !== 'REQUEST') byView.set(v.source, [...(byView.get(v.source) ?? []), v])
  const zip = byView.get('zipcode_features') ?? []
  if (zip.length > 0 && zip.every((v) => v.status === 'NOT_FOUND')) {
    out.push(`No ZIP code features for ${String(application.zipcode).padStart(5, '0')} (NOT_FOUND): the online store has no row for that ZIP code. The model decided without them.`)
  }
  const credit = byView.get('credit_history') ?? []
  if (credit.length > 0 && credit.every((v) => v.status === 'NOT_FOUND')) {
    out.push(`No credit history for applicant ${application.dob_ssn} (NOT_FOUND): check the date of birth and SSN digits. The model decided without it.`)
  } else if (credit.some((v) => v.status === 'OUTSIDE_MAX_AGE')) {
    out.push(`The applicant's credit history is older than its 90-day ttl (OUTSIDE_MAX_AGE): withheld, so the model decided without it.`)
  }
  return out
}

function sortDesc<T extends { readonly feature: string; readonly value: number }>(rows: T[]): T[] {
  return rows.sort((a, b) => b.value - a.value || (a.feature < b.feature ? -1 : 1))
}

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'number' && !Number.isFinite(v)) return null
  return v ?? null
}
