import type { Contribution } from '../loan-api-types'

/**
 * How much each input pushed this decision: SHAP values in log-odds of default, as bars either
 * side of zero (red raises the risk, green lowers it), largest first.
 */
export function ContributionChart(props: { readonly contributions: readonly Contribution[]; readonly baseValue: number; readonly logOdds: number; readonly limit?: number }) {
  const shown = props.limit !== undefined ? props.contributions.slice(0, props.limit) : props.contributions
  const max = Math.max(1e-9, ...shown.map((c) => Math.abs(c.shap)))
  return (
    <div class="bars diverging" data-testid="contributions">
      {shown.map((c) => {
        const width = (Math.abs(c.shap) / max) * 50
        const up = c.shap >= 0
        return (
          <div class="bar-row" key={c.feature} data-feature={c.feature} data-shap={c.shap}>
            <div class="bar-label">
              <span class="bar-name">{c.feature}</span>
              <span class="bar-value">{show(c.value)}</span>
            </div>
            <div class="bar-track">
              <div class="bar-axis" />
              <div class={`bar ${up ? 'up' : 'down'}`} style={{ left: up ? '50%' : `${50 - width}%`, width: `${Math.max(width, 0.3)}%` }} />
            </div>
            <div class={`bar-number ${up ? 'up' : 'down'}`}>{signed(c.shap)}</div>
          </div>
        )
      })}
    </div>
  )
}

/** Global importance: one bar per input, from zero. */
export function ImportanceChart(props: { readonly features: ReadonlyArray<{ readonly feature: string; readonly value: number }>; readonly format: (v: number) => string }) {
  const max = Math.max(1e-9, ...props.features.map((f) => f.value))
  return (
    <div class="bars" data-testid="importance">
      {props.features.map((f) => (
        <div class="bar-row" key={f.feature} data-feature={f.feature}>
          <div class="bar-label">
            <span class="bar-name">{f.feature}</span>
          </div>
          <div class="bar-track">
            <div class="bar neutral" style={{ left: '0%', width: `${Math.max((f.value / max) * 100, 0.3)}%` }} />
          </div>
          <div class="bar-number">{props.format(f.value)}</div>
        </div>
      ))}
    </div>
  )
}

/** The probability of default on a 0–100 % scale with the rejection threshold marked. */
export function RiskGauge(props: { readonly probability: number; readonly threshold: number }) {
  const p = Math.min(1, Math.max(0, props.probability))
  return (
    <div class="gauge" aria-label={`Probability of default ${(p * 100).toFixed(1)} %`}>
      <div class="gauge-fill" style={{ width: `${p * 100}%` }} />
      <div class="gauge-threshold" style={{ left: `${props.threshold * 100}%` }} title={`Rejected at ${(props.threshold * 100).toFixed(0)} % or more`} />
      <div class="gauge-scale">
        <span>0 %</span>
        <span style={{ left: `${props.threshold * 100}%` }} class="gauge-threshold-label">
          threshold {(props.threshold * 100).toFixed(0)} %
        </span>
        <span>100 %</span>
      </div>
    </div>
  )
}

export function signed(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`
}

export function show(v: unknown): string {
  if (v === null || v === undefined) return 'missing'
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : String(Math.round(v * 1e4) / 1e4)
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}
