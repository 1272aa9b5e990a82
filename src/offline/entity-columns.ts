import { MorselError, didYouMean } from '../errors/index.js'
import type { HistoricalQuery } from './offline-store.js'

/**
 * Checks the columns of a training set's entity rows before the join runs: the timestamp, every
 * join key and request field present, and no column named like a requested feature.
 */
export function checkEntityColumns(query: HistoricalQuery, names: readonly string[]): void {
  const have = new Set(names)
  const list = names.join(', ')
  for (const n of names) {
    if (n.startsWith('__morsel_')) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `Entity column '${n}' uses the prefix '__morsel_', which Morsel reserves for its own columns; rename it.`)
    }
  }
  if (!have.has(query.timestampColumn)) {
    throw new MorselError(
      'MORSEL_REQUEST_INVALID',
      `The entity rows have no '${query.timestampColumn}' column; each row needs the point in time to read features at.${didYouMean(query.timestampColumn, names)} Columns: ${list}.`,
      { details: { column: query.timestampColumn } },
    )
  }
  for (const r of query.requiredColumns) {
    if (have.has(r.name)) continue
    const joinKey = r.kind === 'joinKey'
    throw new MorselError(
      joinKey ? 'MORSEL_ENTITY_KEY_INVALID' : 'MORSEL_REQUEST_INVALID',
      `The entity rows have no column '${r.name}', ${joinKey ? 'the join key of' : 'request data needed by'} ${r.neededBy}.${didYouMean(r.name, names)} Columns: ${list}.`,
      { details: joinKey ? { joinKey: r.name } : { requestField: r.name } },
    )
  }
  for (const out of query.outputColumns) {
    if (have.has(out)) {
      throw new MorselError(
        'MORSEL_FEATURE_NAME_COLLISION',
        `Entity column '${out}' has the name of a requested feature; rename the column, or ask with full feature names (\`fullFeatureNames: true\`, giving 'view__feature').`,
        { details: { name: out } },
      )
    }
  }
}
