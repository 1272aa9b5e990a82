import type { ColumnarRows } from '../types/columnar.js'
import { MorselError, didYouMean } from '../errors/index.js'

/** Entity and request-data values of a request, column by column (Feast's HTTP `entities` form). */
export type EntityColumns = ColumnarRows

/** The in-process form: one object per entity row. */
export function entityRowsToColumns(rows: readonly unknown[]): EntityColumns {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new MorselError('MORSEL_REQUEST_INVALID', '`entityRows` must be a non-empty array of objects such as { zipcode: 76104 }.')
  }
  const first: unknown = rows[0]
  if (first === null || typeof first !== 'object' || Array.isArray(first)) {
    throw new MorselError('MORSEL_REQUEST_INVALID', '`entityRows[0]` must be an object of join key (and request field) values.')
  }
  const names = Object.keys(first)
  const columns = new Map<string, unknown[]>()
  for (const n of names) columns.set(n, new Array<unknown>(rows.length))
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as Record<string, unknown> | null
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `\`entityRows[${r}]\` must be an object.`)
    }
    const keys = Object.keys(row)
    if (keys.length !== names.length) throw unequalRow(r, names, keys)
    for (const n of names) {
      if (!Object.hasOwn(row, n)) throw unequalRow(r, names, keys)
      ;(columns.get(n) as unknown[])[r] = row[n]
    }
  }
  return { names, columns, rowCount: rows.length }
}

/** The HTTP form: `{ column: [values] }`, every column the same length. */
export function entityColumnsFrom(entities: unknown, what = '`entities`'): EntityColumns {
  if (entities === null || typeof entities !== 'object' || Array.isArray(entities)) {
    throw new MorselError('MORSEL_REQUEST_INVALID', `${what} must be an object of column name to a list of values, e.g. {"zipcode": [76104]}.`)
  }
  const names = Object.keys(entities)
  if (names.length === 0) throw new MorselError('MORSEL_REQUEST_INVALID', `${what} is empty: give at least one join key column.`)
  const columns = new Map<string, readonly unknown[]>()
  let rowCount = -1
  for (const n of names) {
    const col = (entities as Record<string, unknown>)[n]
    if (!Array.isArray(col)) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `${what}.${n} must be a list of values, got ${col === null ? 'null' : typeof col}.`)
    }
    if (rowCount === -1) rowCount = col.length
    else if (col.length !== rowCount) {
      throw new MorselError(
        'MORSEL_REQUEST_INVALID',
        `${what} columns have different lengths ('${names[0]}' has ${rowCount}, '${n}' has ${col.length}); every column needs one value per entity row.`,
      )
    }
    columns.set(n, col)
  }
  if (rowCount === 0) throw new MorselError('MORSEL_REQUEST_INVALID', `${what} has no rows: every column is an empty list.`)
  return { names, columns, rowCount }
}

/** Rejects columns that are neither a needed join key nor a needed request field. */
export function checkColumns(input: EntityColumns, joinKeys: readonly string[], requestFields: readonly string[]): void {
  for (const k of joinKeys) {
    if (!input.columns.has(k)) {
      throw new MorselError(
        'MORSEL_ENTITY_KEY_INVALID',
        `The request has no values for join key '${k}', which the requested features are keyed by.${didYouMean(k, input.names)}`,
        { details: { joinKey: k } },
      )
    }
  }
  for (const f of requestFields) {
    if (!input.columns.has(f)) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `The request has no values for request field '${f}', which an on-demand feature needs.${didYouMean(f, input.names)}`, {
        details: { requestField: f },
      })
    }
  }
  if (input.names.length > joinKeys.length + requestFields.length) {
    const known = new Set([...joinKeys, ...requestFields])
    for (const n of input.names) {
      if (!known.has(n)) {
        throw new MorselError(
          'MORSEL_REQUEST_INVALID',
          `Column '${n}' is neither a join key nor a request field of the requested features (expected ${[...known].join(', ')}).${didYouMean(n, known)}`,
          { details: { column: n } },
        )
      }
    }
  }
}

function unequalRow(r: number, names: readonly string[], keys: readonly string[]): MorselError {
  return new MorselError(
    'MORSEL_REQUEST_INVALID',
    `\`entityRows[${r}]\` has the keys ${keys.join(', ')}, but the first row has ${names.join(', ')}; every row needs the same keys.`,
  )
}
