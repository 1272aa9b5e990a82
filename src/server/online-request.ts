import { MorselError, didYouMean } from '../errors/index.js'
import { entityColumnsFrom, type EntityColumns } from '../serving/entity-input.js'
import { preview } from './request-body.js'

const KEYS = ['features', 'feature_service', 'entities', 'full_feature_names', 'request_context', 'include_feature_view_version_metadata'] as const
const KNOWN = new Set<string>(KEYS)

/** A `/get-online-features` body, checked: what `FeatureStore.planFor` and `readWithPlan` take. */
export type OnlineHttpRequest = ({ readonly features: readonly string[] } | { readonly featureService: string }) & {
  readonly fullFeatureNames: boolean
  /** Entity columns, then request-data columns: one list of values per column, checked once here. */
  readonly input: EntityColumns
}

/**
 * Checks a `/get-online-features` body (Feast's `GetOnlineFeaturesRequest`): exactly one of a
 * non-empty `features` list and `feature_service`; `entities` as equal-length columns;
 * `request_context` columns (on-demand request data) of the same length, merged after the
 * entities as Feast does. Everything wrong is a MorselError with status 400 (413 past the row
 * limit). This runs on every read, so the common body is checked without copying it.
 */
export function parseOnlineRequest(body: Record<string, unknown>, maxRows: number): OnlineHttpRequest {
  for (const key in body) {
    if (!KNOWN.has(key)) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `Unknown field '${key}' in the /get-online-features request.${didYouMean(key, KEYS)} Fields: ${KEYS.join(', ')}.`, {
        details: { field: key },
      })
    }
  }
  const rawFeatures = body.features
  const rawService = body.feature_service
  let features: string[] | undefined
  if (rawFeatures !== undefined && rawFeatures !== null) {
    if (!Array.isArray(rawFeatures)) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `\`features\` must be a list of "view:feature" strings, got ${preview(rawFeatures)}.`)
    }
    for (let i = 0; i < rawFeatures.length; i++) {
      if (typeof rawFeatures[i] !== 'string') {
        throw new MorselError('MORSEL_REQUEST_INVALID', `\`features[${i}]\` must be a "view:feature" string, got ${preview(rawFeatures[i])}.`)
      }
    }
    if (rawFeatures.length > 0) features = rawFeatures as string[]
  }
  let featureService: string | undefined
  if (rawService !== undefined && rawService !== null) {
    if (typeof rawService !== 'string' || rawService === '') {
      throw new MorselError('MORSEL_REQUEST_INVALID', `\`feature_service\` must be the name of a feature service, got ${preview(rawService)}.`)
    }
    featureService = rawService
  }
  if (features !== undefined && featureService !== undefined) {
    throw new MorselError('MORSEL_REQUEST_INVALID', 'Give either `features` or `feature_service`, not both.')
  }
  const full = body.full_feature_names
  if (full !== undefined && full !== null && typeof full !== 'boolean') {
    throw new MorselError('MORSEL_REQUEST_INVALID', `\`full_feature_names\` must be true or false, got ${preview(full)}.`)
  }
  const versionMetadata = body.include_feature_view_version_metadata
  if (versionMetadata !== undefined && versionMetadata !== null && typeof versionMetadata !== 'boolean') {
    throw new MorselError('MORSEL_REQUEST_INVALID', `\`include_feature_view_version_metadata\` must be true or false, got ${preview(versionMetadata)}.`)
  }
  if (body.entities === undefined) {
    throw new MorselError('MORSEL_REQUEST_INVALID', '`entities` is missing: give the join keys as columns, e.g. {"zipcode": [76104]}.')
  }
  let input = entityColumnsFrom(body.entities, '`entities`')
  const rowCount = input.rowCount
  const context = body.request_context
  if (context !== undefined && context !== null && !(typeof context === 'object' && !Array.isArray(context) && Object.keys(context).length === 0)) {
    const extra = entityColumnsFrom(context, '`request_context`')
    if (extra.rowCount !== rowCount) {
      throw new MorselError(
        'MORSEL_REQUEST_INVALID',
        `\`request_context\` columns have ${extra.rowCount} values but \`entities\` columns have ${rowCount}; give one value per entity row.`,
      )
    }
    const columns = new Map(input.columns)
    for (const name of extra.names) {
      if (columns.has(name)) {
        throw new MorselError('MORSEL_REQUEST_INVALID', `Column '${name}' is in both \`entities\` and \`request_context\`; give it once.`, { details: { column: name } })
      }
      columns.set(name, extra.columns.get(name) as unknown[])
    }
    input = { names: [...input.names, ...extra.names], columns, rowCount }
  }
  if (rowCount > maxRows) {
    throw new MorselError(
      'MORSEL_PAYLOAD_TOO_LARGE',
      `The request asks for ${rowCount} entity rows; this server takes at most ${maxRows} per request (\`feature_server.limits.max_entities_per_request\`). Split the request.`,
      { details: { rows: rowCount, limit: maxRows } },
    )
  }
  const fullFeatureNames = full === true
  if (featureService !== undefined) return { featureService, fullFeatureNames, input }
  if (features !== undefined) return { features, fullFeatureNames, input }
  throw new MorselError(
    'MORSEL_REQUEST_INVALID',
    'No features requested: give `features` (e.g. ["zipcode_features:city"]) or `feature_service` (e.g. "credit_model_v1").',
  )
}
