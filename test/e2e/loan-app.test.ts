import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CreditModel, MODEL_FILE } from '../../examples/credit-scoring/app/credit-model.js'
import { TreeExplainer } from '../../examples/credit-scoring/app/gbdt/tree-shap.js'
import { TUTORIAL_APPLICATION, type LoanApplication } from '../../examples/credit-scoring/app/score.js'
import { FeatureStore } from '../../src/feature-store.js'
import type { OnlineResponse } from '../../src/serving/online-response.js'
import { collectPageErrors, launchBrowser, type TestBrowser } from '../support/browser.js'

const ROOT = resolve(import.meta.dirname, '../..')
const EXAMPLE = join(ROOT, 'examples/credit-scoring')

/**
 * `npm start` as a user runs it, in a new process group (as a terminal runs it, so that Ctrl+C is
 * a SIGINT to the group), on a fresh copy of the example's repository with a free port: the
 * quickstart, then the server with the loan page and the console.
 */
function startQuickstart(repo: string): {
  proc: ChildProcess
  output: () => string
  urls: Promise<{ loan: string; console: string; base: string }>
  /** Once every process of the group has let go of the output pipes: npm's exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
} {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.REDIS_URL
  const proc = spawn('npm', ['start', '--silent', '--', '--repo', repo, '--port', '0'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.on('close', (code, signal) => done({ code, signal })))
  const urls = new Promise<{ loan: string; console: string; base: string }>((done, fail) => {
    const check = (): void => {
      const loan = /Loan application\s+(http:\/\/\S+\/loan\/)/.exec(out)?.[1]
      const consoleUrl = /Console\s+(http:\/\/\S+\/console\/)/.exec(out)?.[1]
      if (loan !== undefined && consoleUrl !== undefined) done({ loan, console: consoleUrl, base: loan.replace(/\/loan\/$/, '') })
    }
    proc.stdout.on('data', check)
    void exited.then(({ code, signal }) => fail(new Error(`npm start exited (${code ?? signal}) before serving:\n${out}`)))
  })
  return { proc, output: () => out, urls, exited }
}

async function submit(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Submit application' }).click()
}

/** What the page shows of one value of the feature vector. */
async function shown(page: Page, name: string): Promise<{ status: string; value: unknown; source: string; age: string }> {
  const row = page.locator(`[data-testid=feature-vector] tr[data-name="${name}"]`)
  return {
    status: (await row.getAttribute('data-status')) ?? '',
    value: JSON.parse((await row.getAttribute('data-value')) ?? 'undefined') as unknown,
    source: (await row.getAttribute('data-source')) ?? '',
    age: await row.locator('td.age').innerText(),
  }
}

describe('the loan application page, served by npm start', () => {
  let repo: string
  let qs: ReturnType<typeof startQuickstart>
  let urls: { loan: string; console: string; base: string }
  let store: FeatureStore
  let model: CreditModel
  let browser: TestBrowser

  /** What getOnlineFeatures returns for an application, and the model's answer on it. */
  async function expected(application: LoanApplication): Promise<{ res: OnlineResponse; probability: number; shap: Float64Array; base: number }> {
    const res = await store.getOnlineFeatures({ featureService: 'credit_scoring_v1', entityRows: [application] })
    const row = { ...application, ...res.toRows()[0] }
    const explained = new TreeExplainer(model.gbdt).explain(model.encoder.encodeRow(row))
    return { res, probability: model.defaultProbability(row), shap: explained.contributions, base: explained.baseValue }
  }

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), 'morsel-loan-app-'))
    for (const f of ['feature_store.yaml', 'features.ts', '.morselignore']) copyFileSync(join(EXAMPLE, f), join(repo, f))
    qs = startQuickstart(repo)
    urls = await qs.urls
    store = await FeatureStore.open(repo)
    model = CreditModel.load(join(repo, MODEL_FILE))
    browser = await launchBrowser()
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await store?.close()
    if (qs?.proc.exitCode === null && qs.proc.signalCode === null && qs.proc.pid !== undefined) process.kill(-qs.proc.pid, 'SIGKILL')
    rmSync(repo, { recursive: true, force: true })
  })

  it('prints the decision, then the URLs of the loan page, the console and the API', () => {
    const out = qs.output()
    expect(out).toMatch(/Loan rejected!\nServing project credit_scoring on http:\/\/127\.0\.0\.1:\d+ \(Ctrl\+C stops\):\n/)
    expect(out).toContain(`Loan application   ${urls.loan}`)
    expect(out).toContain(`Console            ${urls.console}`)
    expect(out).toContain(`Feature API        POST ${urls.base}/get-online-features`)
  })

  it("decides the tutorial's application as the model does on the features getOnlineFeatures returns, and shows them", async () => {
    const page = await browser.newPage()
    const errors = collectPageErrors(page)
    await page.goto(urls.loan)
    await page.locator('[data-testid=global-importance] .bar-row').first().waitFor()
    await browser.screenshot(page, 'loan-form')
    // The form holds the tutorial's applicant.
    expect(await page.locator('input[name=zipcode]').inputValue()).toBe('76104')
    expect(await page.locator('input[name=dateOfBirth]').inputValue()).toBe('1963-06-21')
    await submit(page)
    await page.locator('[data-testid=decision]').waitFor()

    const want = await expected(TUTORIAL_APPLICATION)
    expect(want.probability).toBeGreaterThanOrEqual(model.threshold)
    expect(await page.locator('[data-testid=decision-word]').innerText()).toBe('Rejected')
    expect(Number(await page.locator('[data-testid=probability]').getAttribute('data-probability'))).toBeCloseTo(want.probability, 12)
    expect(await page.locator('[data-testid=probability]').innerText()).toBe(`${(want.probability * 100).toFixed(1)} %`)
    expect(await page.locator('[data-testid=fetch-ms]').innerText()).toMatch(/^\d+\.\d ms$/)

    // The request: the entity row (dob_ssn from the date of birth and the SSN digits) and the loan request.
    expect(JSON.parse(await page.locator('[data-testid=request] pre').innerText())).toEqual(TUTORIAL_APPLICATION)

    // Every value of the vector, as getOnlineFeatures returns it, with its status and an age for stored rows.
    const names = want.res.featureNames
    expect(await page.locator('[data-testid=feature-vector] tr[data-name]').count()).toBe(names.length)
    for (const [c, name] of names.entries()) {
      const v = await shown(page, name)
      const isRequest = c < want.res.requestColumns
      expect(v.status, name).toBe(isRequest ? 'REQUEST' : want.res.status(name))
      expect(v.value, name).toEqual(want.res.value(name))
      expect(v.age === '–', name).toBe(want.res.eventTime(name) === null)
    }
    expect((await shown(page, 'city')).value).toBe('FORT WORTH')
    expect((await shown(page, 'city')).source).toBe('zipcode_features')
    expect((await shown(page, 'credit_card_due')).source).toBe('credit_history')
    expect((await shown(page, 'loan_to_income')).source).toBe('loan_ratios')
    expect((await shown(page, 'dob_ssn')).value).toBe('19630621_4278')
    expect(await page.locator('[data-testid=notices]').count()).toBe(0)

    // How much each input pushed: TreeSHAP, the same values the test computes, adding up to the log-odds.
    await page.getByRole('button', { name: /Show all 24 inputs/ }).click()
    const bars = page.locator('[data-testid=contributions] .bar-row')
    expect(await bars.count()).toBe(model.encoder.columns.length)
    let sum = want.base
    for (let i = 0; i < (await bars.count()); i++) {
      const feature = (await bars.nth(i).getAttribute('data-feature'))!
      const value = Number(await bars.nth(i).getAttribute('data-shap'))
      expect(value, feature).toBeCloseTo(want.shap[model.encoder.featureNames.indexOf(feature)]!, 9)
      sum += value
    }
    expect(sum).toBeCloseTo(Math.log(want.probability / (1 - want.probability)), 9)
    // The global importance: one bar per input, mean |SHAP| over training rows.
    expect(await page.locator('[data-testid=importance] .bar-row').count()).toBe(model.encoder.columns.length)
    expect(await page.locator('[data-testid=global-importance]').innerText()).toContain('Mean |SHAP| (log-odds) over 2,000 evenly spaced rows')
    await browser.screenshot(page, 'loan-decision-tutorial')
    expect(errors).toEqual([])
  })

  it('shows an unknown ZIP code as NOT_FOUND features, and still decides', async () => {
    const page = await browser.newPage()
    await page.goto(urls.loan)
    await page.locator('input[name=zipcode]').fill('00000')
    await submit(page)
    await page.locator('[data-testid=notices]').waitFor()
    const want = await expected({ ...TUTORIAL_APPLICATION, zipcode: 0 })
    for (const name of ['city', 'state', 'location_type', 'tax_returns_filed', 'population', 'total_wages']) {
      expect(want.res.status(name)).toBe('NOT_FOUND')
      expect(await shown(page, name)).toMatchObject({ status: 'NOT_FOUND', value: null, age: '–' })
    }
    expect((await shown(page, 'credit_card_due')).status).toBe('PRESENT')
    expect(await page.locator('[data-testid=notices]').innerText()).toContain('No ZIP code features for 00000 (NOT_FOUND)')
    expect(Number(await page.locator('[data-testid=probability]').getAttribute('data-probability'))).toBeCloseTo(want.probability, 12)
    await browser.screenshot(page, 'loan-decision-unknown-zipcode')
  })

  it('shows a message beside each invalid field and sends nothing; the server refuses the same fields', async () => {
    const page = await browser.newPage()
    await page.goto(urls.loan)
    const decides: string[] = []
    page.on('request', (r) => {
      if (r.url().endsWith('/api/decide')) decides.push(r.url())
    })
    await page.locator('input[name=zipcode]').fill('7610')
    await page.locator('input[name=dateOfBirth]').fill('1963-02-30')
    await page.locator('input[name=ssnLast4]').fill('42')
    await page.locator('input[name=income]').fill('lots')
    await page.locator('select[name=loanIntent]').selectOption('')
    await submit(page)
    await page.locator('[data-testid=form-errors]').waitFor()
    const messages = {
      zipcode: 'A ZIP code is 5 digits, e.g. 76104.',
      dateOfBirth: '1963-02-30 is not a date in the calendar.',
      ssnLast4: 'Give exactly four digits, e.g. 4278.',
      income: 'Give the yearly income in whole dollars, e.g. 59000: digits only.',
      loanIntent: 'Choose the loan intent.',
    }
    for (const [field, message] of Object.entries(messages)) expect(await page.locator(`[data-error=${field}]`).innerText(), field).toBe(message)
    expect(await page.locator('[data-error]').count()).toBe(5)
    expect(await page.locator('[data-testid=form-errors]').innerText()).toBe('5 fields need fixing.')
    expect(await page.locator('[data-testid=decision]').count()).toBe(0)
    expect(decides).toEqual([])
    await browser.screenshot(page, 'loan-invalid-fields')

    const res = await fetch(`${urls.loan}api/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ zipcode: '7610', dateOfBirth: '1963-02-30', ssnLast4: '42', age: '133', income: 'lots', homeOwnership: 'RENT', employmentLength: '1', loanIntent: '', amount: '100', interestRate: '5' }),
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: { code: 'MORSEL_REQUEST_INVALID', message: '5 fields need fixing.', fields: messages } })
    const notJson = await fetch(`${urls.loan}api/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"zipcode": ' })
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('MORSEL_REQUEST_INVALID')
  })

  it('serves the console beside it, which lists the loan page and counts its reads', async () => {
    const page = await browser.newPage()
    await page.goto(urls.console)
    await expect.poll(() => page.locator('[data-testid=project]').innerText()).toBe('credit_scoring')
    expect(await page.locator('.sidebar-apps').innerText()).toContain('/loan/')
    await page.goto(`${urls.console}#/views/credit_history`)
    await page.locator('[data-testid=served]').waitFor()
    // The decisions above read credit_history: 9 features, PRESENT each time.
    await expect.poll(async () => Number((await page.locator('[data-stat=served-PRESENT]').innerText()).replaceAll(',', ''))).toBeGreaterThanOrEqual(18)
    await browser.screenshot(page, 'loan-console-credit_history')
  })

  it('stops cleanly on Ctrl+C', async () => {
    process.kill(-qs.proc.pid!, 'SIGINT')
    const { code, signal } = await qs.exited
    // The quickstart drained and closed the server, then said so; npm itself ends as npm does on Ctrl+C.
    expect(qs.output().trimEnd().endsWith('Stopped.'), qs.output()).toBe(true)
    expect(code === 0 || signal === 'SIGINT', `code ${code}, signal ${signal}`).toBe(true)
    expect(qs.output()).not.toMatch(/quickstart failed|Error/)
    await expect(fetch(`${urls.base}/health`)).rejects.toThrow()
  })
})
