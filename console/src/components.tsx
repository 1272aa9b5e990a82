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

/** One column of a Table: its header, what a row shows in it, and whether it holds names or numbers. */
export interface Column<T> {
  readonly header: string
  readonly cell: (row: T) => ComponentChildren
  readonly num?: boolean
  /** The column naming the row (bold, no wrapping). */
  readonly name?: boolean
}

/** A table with one row per object; each row carries `data-row` (its name) for tests and scripts. */
export function Table<T>(props: {
  readonly rows: readonly T[]
  readonly columns: ReadonlyArray<Column<T>>
  readonly rowName: (row: T) => string
  /** Tells rows apart when names repeat (the row name by default). */
  readonly rowKey?: (row: T) => string
  readonly testid?: string
  readonly compact?: boolean
}) {
  const cls = (c: Column<T>): string | undefined => (c.num === true ? 'num' : c.name === true ? 'name' : undefined)
  return (
    <table class={props.compact === true ? 'table compact' : 'table'} data-testid={props.testid}>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th key={c.header} class={c.num === true ? 'num' : undefined}>
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => {
          const name = props.rowName(row)
          return (
            <tr key={props.rowKey?.(row) ?? name} data-row={name}>
              {props.columns.map((c) => (
                <td key={c.header} class={cls(c)}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

/** A text, or a muted dash when it is empty. */
export function OrDash(props: { readonly text: string }) {
  return props.text !== '' ? <>{props.text}</> : <span class="muted">–</span>
}

/** Names as comma-separated links to their pages (`to` gives each one's route), or `none` when there are none. */
export function LinkList(props: { readonly names: readonly string[]; readonly to: (name: string) => string[]; readonly none?: ComponentChildren }) {
  if (props.names.length === 0) return <>{props.none ?? '–'}</>
  return (
    <>
      {props.names.map((n, i) => (
        <span key={n}>
          {i > 0 && ', '}
          <Link to={props.to(n)}>{n}</Link>
        </span>
      ))}
    </>
  )
}
