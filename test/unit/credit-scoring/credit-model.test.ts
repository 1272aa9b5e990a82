import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CreditModel, modelColumns } from '../../../examples/credit-scoring/app/credit-model.js'
import { TUTORIAL_APPLICATION } from '../../../examples/credit-scoring/app/score.js'
import { fitCreditModel, type TrainingSet } from '../../../examples/credit-scoring/app/train.js'
import { seededRandom } from '../../../src/internal/random.js'

const dir = mkdtempSync(join(tmpdir(), 'morsel-credit-model-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Loans whose default depends on the loan-to-income ratio and home ownership, with some credit history missing. */
function syntheticSet(n: number): TrainingSet {
  const random = seededRandom(11)
  const homes = ['RENT', 'OWN', 'MORTGAGE']
  const rows: Array<Record<string, unknown>> = []
  const labels = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const income = 20_000 + Math.floor(random() * 100_000)
    const amount = 500 + Math.floor(random() * 30_000)
    const home = homes[Math.floor(random() * 3)]!
    const hasCredit = random() < 0.7
    const logit = -2 + 6 * (amount / income) + (home === 'RENT' ? 0.8 : 0)
    labels[i] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0
    rows.push({
      person_age: 20 + Math.floor(random() * 40),
      person_income: income,
      person_home_ownership: home,
      person_emp_length: Math.floor(random() * 10),
      loan_intent: 'PERSONAL',
      loan_amnt: amount,
      loan_int_rate: 5 + random() * 15,
      city: 'FORT WORTH',
      state: 'TX',
      location_type: 'PRIMARY',
      tax_returns_filed: 6000,
      population: 10_000,
      total_wages: 140_000_000,
      credit_card_due: hasCredit ? Math.floor(random() * 10_000) : null,
      mortgage_due: hasCredit ? 100_000 : null,
      student_loan_due: hasCredit ? 0 : null,
      vehicle_loan_due: hasCredit ? 0 : null,
      hard_pulls: hasCredit ? 1 : null,
      missed_payments_2y: hasCredit ? 0 : null,
      missed_payments_1y: hasCredit ? 0 : null,
      missed_payments_6m: hasCredit ? 0 : null,
      bankruptcies: hasCredit ? 0 : null,
      debt_to_income: hasCredit ? 1 : null,
      loan_to_income: amount / income,
    })
  }
  return { rows, labels, times: Float64Array.from({ length: n }, (_, i) => Date.UTC(2021, 0, 1) + i * 60_000) }
}

describe('the credit model', () => {
  it('takes the loan application, then the feature service’s features, text columns as categories', () => {
    const cols = modelColumns()
    expect(cols.map((c) => c.name)).toEqual([
      'person_age', 'person_income', 'person_home_ownership', 'person_emp_length', 'loan_intent', 'loan_amnt', 'loan_int_rate',
      'city', 'state', 'location_type', 'tax_returns_filed', 'population', 'total_wages',
      'credit_card_due', 'mortgage_due', 'student_loan_due', 'vehicle_loan_due', 'hard_pulls',
      'missed_payments_2y', 'missed_payments_1y', 'missed_payments_6m', 'bankruptcies',
      'debt_to_income', 'loan_to_income',
    ])
    expect(cols.filter((c) => c.kind === 'categorical').map((c) => c.name)).toEqual(['person_home_ownership', 'loan_intent', 'city', 'state', 'location_type'])
  })

  it('holds out the latest loans and records how it did on them', () => {
    const model = fitCreditModel(syntheticSet(3000), { params: { nTrees: 30 } })
    expect(model.training.trainRows).toBe(2400)
    expect(model.training.holdoutRows).toBe(600)
    expect(model.training.holdoutFrom).toBe(new Date(Date.UTC(2021, 0, 1) + 2400 * 60_000).toISOString())
    expect(model.training.creditHistoryCoverage).toBeGreaterThan(0.6)
    expect(model.training.holdout.auc).toBeGreaterThan(0.7)
    expect(model.matchesDefinitions()).toBe(true)
    expect(() => fitCreditModel(syntheticSet(200), { holdoutFraction: 0 })).toThrow(/holdoutFraction/)
  })

  it('saves and loads with identical decisions, and refuses a damaged file with a way out', () => {
    const model = fitCreditModel(syntheticSet(2000), { params: { nTrees: 20 } })
    const path = join(dir, 'model/credit-model.json')
    model.save(path)
    const loaded = CreditModel.load(path)
    for (const row of [...syntheticSet(50).rows, { ...TUTORIAL_APPLICATION }, { ...TUTORIAL_APPLICATION, person_home_ownership: 'HOUSEBOAT', credit_card_due: null }]) {
      expect(loaded.decide(row)).toEqual(model.decide(row))
    }
    const json = JSON.parse(readFileSync(path, 'utf8'))
    writeFileSync(path, JSON.stringify({ ...json, gbdt: { ...json.gbdt, featureNames: [...json.gbdt.featureNames].reverse() } }))
    expect(() => CreditModel.load(path)).toThrow(/columns and the trees' features differ\. Delete it to train a new model/)
    writeFileSync(path, JSON.stringify({ ...json, gbdt: { ...json.gbdt, trees: [{ feature: [99, -1, -1] }] } }))
    expect(() => CreditModel.load(path)).toThrow(/credit-model\.json: Model file: tree 0 .* Delete it to train a new model/)
    writeFileSync(path, '{ not json')
    expect(() => CreditModel.load(path)).toThrow(/Cannot read the model file .* Delete it to train a new model/)
  })
})
