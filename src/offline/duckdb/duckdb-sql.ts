import { formatMicros } from '../../internal/time.js'

/** A DuckDB identifier, always quoted so that any column name round-trips. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** A DuckDB string literal. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

/** A TIMESTAMPTZ literal with microsecond precision. */
export function timestampLiteral(micros: number): string {
  return `TIMESTAMPTZ ${literal(formatMicros(micros))}`
}

/** The SQL of a user's query as a subquery: trailing semicolons and whitespace removed. */
export function subquery(sql: string): string {
  return sql.trim().replace(/;+\s*$/, '')
}
