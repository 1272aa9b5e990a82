import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import type { LoanDecisionResponse, LoanModelResponse, VectorValue } from '../loan-api-types'
import { FIELD_LABELS, HOME_OWNERSHIP, LOAN_INTENTS, TUTORIAL_FORM, parseLoanForm, type LoanField, type LoanFormErrors, type LoanFormValues } from '../loan-form'
import type { LoanApiError} from './api';
import { callApi, getToken, setToken } from './api'
import { ContributionChart, ImportanceChart, RiskGauge, show, signed } from './charts'
import './style.css'

const EMPTY_FORM: LoanFormValues = {
  zipcode: '',
  dateOfBirth: '',
  ssnLast4: '',
  age: '',
  income: '',
  homeOwnership: '',
  employmentLength: '',
  loanIntent: '',
  amount: '',
  interestRate: '',
}

const PLACEHOLDERS: Readonly<Record<LoanField, string>> = {
  zipcode: '76104',
  dateOfBirth: 'YYYY-MM-DD',
  ssnLast4: '4278',
  age: '35',
  income: '59000',
  homeOwnership: '',
  employmentLength: '4.5',
  loanIntent: '',
  amount: '10000',
  interestRate: '11.5',
}

function App() {
  const [form, setForm] = useState<LoanFormValues>(TUTORIAL_FORM)
  const [errors, setErrors] = useState<LoanFormErrors>({})
  const [result, setResult] = useState<LoanDecisionResponse | undefined>()
  const [failure, setFailure] = useState<LoanApiError | undefined>()
  const [busy, setBusy] = useState(false)
  const [model, setModel] = useState<LoanModelResponse | undefined>()
  const [modelError, setModelError] = useState<LoanApiError | undefined>()
  const [tokenVersion, setTokenVersion] = useState(0)

  useEffect(() => {
    setModelError(undefined)
    callApi<LoanModelResponse>('model').then(setModel, (err: LoanApiError) => setModelError(err))
  }, [tokenVersion])

  const needsToken = (failure?.needsCredentials ?? false) || (modelError?.needsCredentials ?? false) || getToken() !== ''

  const submit = async (): Promise<void> => {
    const checked = parseLoanForm(form)
    if (!checked.ok) {
      // The results shown would belong to another application than the form's: take them away.
      setErrors(checked.errors)
      setFailure(undefined)
      setResult(undefined)
      return
    }
    setErrors({})
    setBusy(true)
    setFailure(undefined)
    try {
      setResult(await callApi<LoanDecisionResponse>('decide', form))
    } catch (err) {
      const e = err as LoanApiError
      setErrors(e.fields)
      setFailure(e)
      setResult(undefined)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div class="page">
      <header class="hero">
        <div class="hero-inner">
          <div>
            <div class="eyebrow">Credit scoring · served by Morsel</div>
            <h1>Loan application</h1>
            <p>
              Each application is decided live: the applicant's credit history and the ZIP code's statistics are read from the online store, the debt and loan ratios computed on the
              way, then the gradient-boosted trees decide and TreeSHAP says why.
            </p>
          </div>
          <nav class="hero-links">
            <a href="../console/">Console</a>
            {needsToken && <TokenField onChange={() => setTokenVersion((v) => v + 1)} />}
          </nav>
        </div>
      </header>
      <main class="columns">
        <section class="card form-card">
          <div class="form-head">
            <h2>Application</h2>
            <div class="form-tools">
              <button
                type="button"
                class="secondary small"
                onClick={() => {
                  setForm(TUTORIAL_FORM)
                  setErrors({})
                }}
              >
                Tutorial's applicant
              </button>
              <button
                type="button"
                class="ghost small"
                onClick={() => {
                  setForm(EMPTY_FORM)
                  setErrors({})
                  setResult(undefined)
                }}
              >
                Clear
              </button>
            </div>
          </div>
          <form
            noValidate
            onSubmit={(e) => {
              e.preventDefault()
              void submit()
            }}
          >
            <div class="fields">
              <TextField field="zipcode" form={form} errors={errors} set={setForm} inputMode="numeric" />
              <TextField field="dateOfBirth" form={form} errors={errors} set={setForm} />
              <TextField field="ssnLast4" form={form} errors={errors} set={setForm} inputMode="numeric" />
              <TextField field="age" form={form} errors={errors} set={setForm} inputMode="numeric" />
              <TextField field="income" form={form} errors={errors} set={setForm} inputMode="numeric" />
              <SelectField field="homeOwnership" options={HOME_OWNERSHIP} form={form} errors={errors} set={setForm} />
              <TextField field="employmentLength" form={form} errors={errors} set={setForm} inputMode="decimal" />
              <SelectField field="loanIntent" options={LOAN_INTENTS} form={form} errors={errors} set={setForm} />
              <TextField field="amount" form={form} errors={errors} set={setForm} inputMode="numeric" />
              <TextField field="interestRate" form={form} errors={errors} set={setForm} inputMode="decimal" />
            </div>
            <div class="actions">
              <button type="submit" class="primary" disabled={busy}>
                {busy ? 'Deciding…' : 'Submit application'}
              </button>
            </div>
            {Object.keys(errors).length > 0 && (
              <div class="form-summary" role="alert" data-testid="form-errors">
                {Object.keys(errors).length === 1 ? 'One field needs fixing.' : `${Object.keys(errors).length} fields need fixing.`}
              </div>
            )}
          </form>
          {model !== undefined && (
            <p class="model-line">
              Model: {model.trees} trees on {model.inputs} inputs, held-out AUC {model.holdoutAuc.toFixed(3)}, trained {model.trainedAt.slice(0, 10)}. Feature service{' '}
              <code>{model.featureService}</code>.
            </p>
          )}
        </section>
        <section class="results">
          {failure !== undefined && Object.keys(failure.fields).length === 0 && <ErrorBanner error={failure} />}
          {modelError !== undefined && result === undefined && <ErrorBanner error={modelError} />}
          {result !== undefined ? <Decision result={result} /> : <Intro />}
          {model !== undefined && (
            <section class="card" data-testid="global-importance">
              <h2>What the model looks at, overall</h2>
              <p class="muted">{model.importance.note}</p>
              <ImportanceChart features={model.importance.features} format={(v) => (model.importance.method === 'gain' ? `${(v * 100).toFixed(1)} %` : v.toFixed(3))} />
            </section>
          )}
        </section>
      </main>
    </div>
  )
}

function Intro() {
  return (
    <section class="card intro">
      <h2>How it works</h2>
      <ol>
        <li>
          The form becomes an entity row (<code>zipcode</code>, and <code>dob_ssn</code> from the date of birth and the SSN digits) and the loan request.
        </li>
        <li>
          <code>getOnlineFeatures</code> with the feature service reads the ZIP code's and the applicant's features and computes <code>debt_to_income</code> and{' '}
          <code>loan_to_income</code>.
        </li>
        <li>The model gives the probability of default; at the threshold or above, the loan is rejected.</li>
        <li>TreeSHAP splits the decision among the inputs: how far each one pushed it.</li>
      </ol>
      <p class="muted">The form holds the applicant of Feast's tutorial: submit it as it is, or change anything.</p>
    </section>
  )
}

function Decision(props: { readonly result: LoanDecisionResponse }) {
  const { result } = props
  const { decision, explanation, timings } = result
  const [showAll, setShowAll] = useState(false)
  return (
    <>
      <section class={`card decision ${decision.approved ? 'approved' : 'rejected'}`} data-testid="decision">
        <div class="decision-head">
          <div>
            <div class="eyebrow">Decision</div>
            <div class="decision-word" data-testid="decision-word">
              {decision.approved ? 'Approved' : 'Rejected'}
            </div>
          </div>
          <div class="decision-prob">
            <div class="eyebrow">Probability of default</div>
            <div class="prob" data-testid="probability" data-probability={decision.probability}>
              {(decision.probability * 100).toFixed(1)} %
            </div>
          </div>
        </div>
        <RiskGauge probability={decision.probability} threshold={decision.threshold} />
        <div class="timings">
          <span>
            Features fetched online in <b data-testid="fetch-ms">{timings.fetchMs.toFixed(1)} ms</b>
          </span>
          <span>model {timings.modelMs.toFixed(2)} ms</span>
          <span>TreeSHAP {timings.explainMs.toFixed(2)} ms</span>
        </div>
      </section>
      {result.notices.length > 0 && (
        <div class="notices" data-testid="notices">
          {result.notices.map((n) => (
            <div class="notice" key={n}>
              {n}
            </div>
          ))}
        </div>
      )}
      <section class="card">
        <h2>Why: how much each input pushed this decision</h2>
        <p class="muted">
          SHAP values in log-odds of default. The model starts from {signed(explanation.baseValue)} (a {(explanation.baseProbability * 100).toFixed(1)} % default rate); red bars push
          toward rejection, green toward approval; they add up to {signed(decision.logOdds)} ({(decision.probability * 100).toFixed(1)} %).
        </p>
        <ContributionChart contributions={explanation.contributions} baseValue={explanation.baseValue} logOdds={decision.logOdds} {...(!showAll && { limit: 10 })} />
        <button type="button" class="link" onClick={() => setShowAll(!showAll)}>
          {showAll ? 'Show the 10 largest' : `Show all ${explanation.contributions.length} inputs`}
        </button>
      </section>
      <section class="card" data-testid="feature-vector">
        <h2>Feature vector, fetched online</h2>
        <p class="muted">
          From feature service <code>{result.featureService}</code>: every value with its status and age (now − the event time of the stored row).
        </p>
        <VectorTable vector={result.vector} />
      </section>
      <section class="card" data-testid="request">
        <h2>Request</h2>
        <p class="muted">The entity row and the loan request sent to getOnlineFeatures.</p>
        <pre class="code">{JSON.stringify(result.request, null, 2)}</pre>
      </section>
    </>
  )
}

const GROUP_TITLES: Readonly<Record<string, string>> = {
  entity: 'Entity keys',
  request: 'Loan request (request data)',
  zipcode_features: 'zipcode_features (ZIP code statistics)',
  credit_history: 'credit_history (credit bureau)',
  loan_ratios: 'loan_ratios (on demand)',
}

function VectorTable(props: { readonly vector: readonly VectorValue[] }) {
  const groups: Array<[string, VectorValue[]]> = []
  for (const v of props.vector) {
    const g = groups.find(([s]) => s === v.source)
    if (g !== undefined) g[1].push(v)
    else groups.push([v.source, [v]])
  }
  return (
    <table class="vector">
      <thead>
        <tr>
          <th>Name</th>
          <th>Value</th>
          <th>Status</th>
          <th>Age</th>
        </tr>
      </thead>
      {groups.map(([source, values]) => (
        <tbody key={source}>
          <tr class="group">
            <td colSpan={4}>{GROUP_TITLES[source] ?? source}</td>
          </tr>
          {values.map((v) => (
            <tr key={v.name} data-name={v.name} data-status={v.status} data-value={JSON.stringify(v.value)} data-source={v.source}>
              <td class="name">{v.name}</td>
              <td class="value">{v.value === null ? <span class="muted">null</span> : v.source === 'entity' ? JSON.stringify(v.value).replace(/^"|"$/g, '') : show(v.value)}</td>
              <td>
                <span class={`status s-${v.status}`}>{v.status}</span>
              </td>
              <td class="age" title={v.eventTime ?? ''}>
                {v.ageSeconds === null ? <span class="muted">–</span> : age(v.ageSeconds)}
              </td>
            </tr>
          ))}
        </tbody>
      ))}
    </table>
  )
}

function TextField(props: { readonly field: LoanField; readonly form: LoanFormValues; readonly errors: LoanFormErrors; readonly set: (f: LoanFormValues) => void; readonly inputMode?: 'numeric' | 'decimal' }) {
  const { field, form, errors, set } = props
  const error = errors[field]
  return (
    <label class={`field ${error !== undefined ? 'invalid' : ''}`}>
      <span class="label">{FIELD_LABELS[field]}</span>
      <input
        name={field}
        value={form[field]}
        placeholder={PLACEHOLDERS[field]}
        inputMode={props.inputMode}
        autocomplete="off"
        aria-invalid={error !== undefined}
        onInput={(e) => set({ ...form, [field]: e.currentTarget.value })}
      />
      {error !== undefined && (
        <span class="field-error" data-error={field}>
          {error}
        </span>
      )}
    </label>
  )
}

function SelectField(props: { readonly field: LoanField; readonly options: readonly string[]; readonly form: LoanFormValues; readonly errors: LoanFormErrors; readonly set: (f: LoanFormValues) => void }) {
  const { field, form, errors, set } = props
  const error = errors[field]
  return (
    <label class={`field ${error !== undefined ? 'invalid' : ''}`}>
      <span class="label">{FIELD_LABELS[field]}</span>
      <select name={field} value={form[field]} aria-invalid={error !== undefined} onChange={(e) => set({ ...form, [field]: e.currentTarget.value })}>
        <option value="">Choose…</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      {error !== undefined && (
        <span class="field-error" data-error={field}>
          {error}
        </span>
      )}
    </label>
  )
}

function ErrorBanner(props: { readonly error: LoanApiError }) {
  return (
    <div class="error-banner" role="alert" data-testid="error">
      <div class="error-code">{props.error.code}</div>
      <div>{props.error.message}</div>
      {props.error.needsCredentials && <div class="small">This server needs an API key or token: enter it at the top right.</div>}
    </div>
  )
}

function TokenField(props: { readonly onChange: () => void }) {
  const [token, setTokenValue] = useState(getToken())
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault()
        setToken(token.trim())
        props.onChange()
      }}
    >
      <input type="password" placeholder="API key or token" value={token} onInput={(e) => setTokenValue(e.currentTarget.value)} aria-label="API key or token" autocomplete="off" />
      <button type="submit" class="secondary">
        Use
      </button>
    </form>
  )
}

function age(seconds: number): string {
  const units: Array<[number, string]> = [
    [365 * 86_400, 'y'],
    [86_400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's'],
  ]
  for (const [size, unit] of units) if (seconds >= size) return `${(seconds / size).toFixed(seconds / size < 10 ? 1 : 0)} ${unit}`
  return `${seconds.toFixed(1)} s`
}

render(<App />, document.getElementById('app') as HTMLElement)
