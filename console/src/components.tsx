import type { ComponentChildren } from 'preact'
import type { ApiError, ApiState } from './api'
import { href } from './router'

export function PageHeader(props: { readonly title: string; readonly kind?: string; readonly children?: ComponentChildren }) {
  return (
    <header class="page-header">
      {props.kind !== undefined && <div class="page-kind">{props.kind}</div>}
      <h1>{props.title}</h1>
      {props.children !== undefined && <div class="page-sub">{props.children}</div>}
    </header>
  )
}

export function Card(props: { readonly title?: string; readonly children: ComponentChildren; readonly class?: string; readonly testid?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} data-testid={props.testid}>
      {props.title !== undefined && <h2>{props.title}</h2>}
      {props.children}
    </section>
  )
}

/** One figure with its label; `stat` names it for tests and scripts. */
export function Stat(props: {
  readonly label: string
  readonly value: ComponentChildren
  readonly hint?: string
  readonly stat?: string
  readonly tone?: string | undefined
  /** The figure behind a formatted value, for tests and scripts. */
  readonly raw?: number | null
}) {
  return (
    <div class={`stat ${props.tone !== undefined ? `tone-${props.tone}` : ''}`}>
      <div class="stat-label">{props.label}</div>
      <div class="stat-value" data-stat={props.stat} data-raw={props.raw === undefined || props.raw === null ? undefined : String(props.raw)}>
        {props.value}
      </div>
      {props.hint !== undefined && <div class="stat-hint">{props.hint}</div>}
    </div>
  )
}

const STATUS_TONES: Readonly<Record<string, string>> = {
  PRESENT: 'ok',
  REQUEST: 'info',
  NULL_VALUE: 'info',
  NOT_FOUND: 'bad',
  OUTSIDE_MAX_AGE: 'warn',
  INVALID: 'bad',
}

export function StatusBadge(props: { readonly status: string }) {
  return <span class={`badge tone-${STATUS_TONES[props.status] ?? 'muted'}`}>{props.status}</span>
}

export function Badge(props: { readonly children: ComponentChildren; readonly tone?: string; readonly title?: string }) {
  return (
    <span class={`badge tone-${props.tone ?? 'muted'}`} title={props.title}>
      {props.children}
    </span>
  )
}

export function Tags(props: { readonly tags: Readonly<Record<string, string>> }) {
  const entries = Object.entries(props.tags)
  if (entries.length === 0) return <span class="muted">–</span>
  return (
    <span class="tags">
      {entries.map(([k, v]) => (
        <span class="tag" key={k}>
          <span class="tag-key">{k}</span>
          {v !== '' && <span class="tag-value">{v}</span>}
        </span>
      ))}
    </span>
  )
}

export function Link(props: { readonly to: string[]; readonly children: ComponentChildren }) {
  return <a href={href(...props.to)}>{props.children}</a>
}

export function Properties(props: { readonly rows: ReadonlyArray<readonly [string, ComponentChildren]> }) {
  return (
    <dl class="properties">
      {props.rows.map(([k, v]) => (
        <div class="property" key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  )
}

export function ErrorBox(props: { readonly error: ApiError }) {
  return (
    <div class="error-box" role="alert">
      <div class="error-code">{props.error.code}</div>
      <div>{props.error.message}</div>
      {props.error.needsCredentials && <div class="error-hint">Enter an API key or token in the field at the top right.</div>}
    </div>
  )
}

/** The loading, error or loaded state of one API call. */
export function Loaded<T>(props: { readonly state: ApiState<T>; readonly children: (data: T) => ComponentChildren }) {
  const { data, error } = props.state
  if (error !== undefined && data === undefined) return <ErrorBox error={error} />
  if (data === undefined) return <div class="loading">Loading…</div>
  return (
    <>
      {error !== undefined && <ErrorBox error={error} />}
      {props.children(data)}
    </>
  )
}

export function Empty(props: { readonly children: ComponentChildren }) {
  return <div class="empty">{props.children}</div>
}
