import type { FeatureService } from '../definitions/feature-service.js'
import { parseFeatureRef, type FeatureRef } from '../definitions/feature-ref.js'
import type { FeatureViewSpec, FieldSpec, FileSourceSpec, OnDemandFeatureViewSpec } from '../definitions/specs.js'
import { MorselError, didYouMean } from '../errors/index.js'
import { toEpochMicros } from '../internal/time.js'
import type { RegistrySnapshot } from '../registry/registry-snapshot.js'
import type { OnDemandUdf } from '../repo/repo-contents.js'
import { entityRowsToColumns } from '../serving/entity-input.js'
import { callUdf, resolveUdf, udfOutput, type LoadedUdfs } from '../serving/on-demand.js'
import { fitsType } from '../types/fits-type.js'
import type { ColumnarRows } from '../types/columnar.js'
import { ValueType, type ValueTypeCode } from '../types/value-type.js'
import type { EntitySource, HistoricalQuery, HistoricalViewQuery, QueryColumn, ResultTransform } from './offline-store.js'

/** Entity rows of a training set: objects, a Parquet or CSV file, or a query in the offline store's SQL. */
export type EntityInput = ReadonlyArray<Readonly<Record<string, unknown>>> | { readonly path: string } | { readonly sql: string }

export interface HistoricalFeaturesRequest {
  /**
   * The entity rows: join keys, the event time (`event_timestamp`: a Date, an ISO 8601 string,
   * no zone meaning UTC, or epoch seconds: src/internal/time.ts) and any other columns (labels, request data), which
   * are kept. As objects, as `{ path }` of a Parquet or CSV file, or as `{ sql }`.
   */
  readonly entities: EntityInput
  /** Feature references `view:feature`. */
  readonly features?: readonly string[]
  /** A registered feature service, by name or by its definition object. */
  readonly featureService?: string | FeatureService
  /** Name features `view__feature` instead of `feature`. Default false. */
  readonly fullFeatureNames?: boolean
  /** The entity column holding each row's point in time. Default `event_timestamp`. */
  readonly timestampColumn?: string
}


/**
 * Resolves a training-set request against one registry snapshot: which views and source columns
 * to read, under which names, with which ttl, and the on-demand functions to run on the result.
 */
export function compileHistoricalQuery(snapshot: RegistrySnapshot, request: HistoricalFeaturesRequest, udfs: LoadedUdfs): HistoricalQuery {
  const full = request.fullFeatureNames === true
  const timestampColumn = request.timestampColumn ?? 'event_timestamp'
  const refs = requestedRefs(snapshot, request)

  const views = new Map<string, { spec: FeatureViewSpec; features: Map<string, string> }>()
  const useView = (spec: FeatureViewSpec): Map<string, string> => {
    let v = views.get(spec.name)
    if (v === undefined) {
      v = { spec, features: new Map() }
      views.set(spec.name, v)
    }
    return v.features
  }
  const outputColumns: string[] = []
  const outputOwner = new Map<string, string>()
  const odfvs = new Map<string, { spec: OnDemandFeatureViewSpec; outputs: Array<{ field: FieldSpec; name: string }> }>()
  const addOutput = (ref: FeatureRef): string => {
    const name = full ? `${ref.view}__${ref.feature}` : ref.feature
    const prev = outputOwner.get(name)
    if (prev === `${ref.view}:${ref.feature}`) throw new MorselError('MORSEL_REQUEST_INVALID', `Feature '${prev}' is requested twice; list each feature once.`)
    if (prev !== undefined) {
      throw new MorselError(
        'MORSEL_FEATURE_NAME_COLLISION',
        `Feature name '${name}' is ambiguous: it comes from view '${ref.view}' and from '${prev}'. Ask with full feature names (\`fullFeatureNames: true\`, giving '${ref.view}__${ref.feature}'), or request only one of them.`,
        { details: { name } },
      )
    }
    outputOwner.set(name, `${ref.view}:${ref.feature}`)
    outputColumns.push(name)
    return name
  }

  for (const ref of refs) {
    const found = snapshot.getAnyView(ref.view)
    const field = found.spec.features.find((f) => f.name === ref.feature)
    if (field === undefined) {
      const names = found.spec.features.map((f) => f.name)
      throw new MorselError('MORSEL_FEATURE_NOT_FOUND', `Feature '${ref.feature}' is not in view '${ref.view}'.${didYouMean(ref.feature, names)} It has: ${names.join(', ')}.`, {
        details: { feature: `${ref.view}:${ref.feature}` },
      })
    }
    const name = addOutput(ref)
    if (found.kind === 'featureView') {
      useView(found.spec).set(ref.feature, name)
    } else {
      let o = odfvs.get(found.spec.name)
      if (o === undefined) {
        o = { spec: found.spec, outputs: [] }
        odfvs.set(found.spec.name, o)
      }
      o.outputs.push({ field, name })
    }
  }

  // On-demand inputs: features of their source views, read under hidden names unless requested.
  const requestFields = new Map<string, string>()
  const plans: OnDemandPlan[] = []
  for (const { spec, outputs } of odfvs.values()) {
    const udf = resolveUdf(spec, udfs)
    const inputs: Array<{ name: string; column: string }> = []
    for (const s of spec.sources) {
      if (s.kind === 'featureView') {
        const v = snapshot.getFeatureView(s.name)
        const features = useView(v)
        for (const f of s.features) {
          if (!v.features.some((x) => x.name === f)) {
            throw new MorselError('MORSEL_DEFINITION_INVALID', `On-demand feature view '${spec.name}' reads '${v.name}:${f}', which is no longer registered; run \`morsel apply\`.`)
          }
          let column = features.get(f)
          if (column === undefined) {
            column = `__morsel_in_${v.name}__${f}`
            features.set(f, column)
          }
          inputs.push({ name: f, column })
        }
      } else {
        const src = snapshot.getDataSource(s.name)
        if (src.kind !== 'request') throw new MorselError('MORSEL_DEFINITION_INVALID', `'${s.name}' is not a request source.`)
        for (const f of src.schema) {
          if (!requestFields.has(f.name)) requestFields.set(f.name, `on-demand feature view '${spec.name}'`)
          inputs.push({ name: f.name, column: f.name })
        }
      }
    }
    plans.push({ name: spec.name, udf, inputs, outputs: outputs.map((o) => ({ name: o.name, feature: o.field.name, valueType: o.field.valueType as ValueTypeCode })) })
  }

  const requiredColumns: Array<{ name: string; kind: 'joinKey' | 'requestField'; neededBy: string }> = []
  const viewQueries: HistoricalViewQuery[] = []
  for (const { spec, features } of views.values()) {
    const source = batchSource(snapshot, spec)
    const reverse = new Map(Object.entries(source.fieldMapping).map(([from, to]) => [to, from]))
    const col = (name: string): string => reverse.get(name) ?? name
    const joinKeys: QueryColumn[] = spec.entityColumns.map((c) => ({ column: col(c.name), name: c.name, valueType: c.valueType as ValueTypeCode }))
    for (const k of joinKeys) {
      if (!requiredColumns.some((r) => r.name === k.name)) requiredColumns.push({ name: k.name, kind: 'joinKey', neededBy: `feature view '${spec.name}'` })
    }
    viewQueries.push({
      view: spec.name,
      source,
      joinKeys,
      timestampField: source.timestampField,
      createdTimestampColumn: source.createdTimestampColumn,
      ttlSeconds: spec.ttlSeconds,
      features: [...features].map(([feature, name]) => {
        const field = spec.features.find((f) => f.name === feature) as FieldSpec
        return { column: col(feature), name, valueType: field.valueType as ValueTypeCode }
      }),
    })
  }
  for (const [name, neededBy] of requestFields) {
    if (!requiredColumns.some((r) => r.name === name)) requiredColumns.push({ name, kind: 'requestField', neededBy })
  }
  for (const out of outputColumns) {
    const r = requiredColumns.find((c) => c.name === out)
    if (r !== undefined) {
      throw new MorselError(
        'MORSEL_FEATURE_NAME_COLLISION',
        `Feature name '${out}' is also the ${r.kind === 'joinKey' ? 'join key' : 'request field'} '${r.name}'. Ask with full feature names (\`fullFeatureNames: true\`).`,
        { details: { name: out } },
      )
    }
  }

  const hints = new Map<string, { readonly type: ValueTypeCode; readonly joinKey: boolean }>()
  for (const s of snapshot.dataSources.values()) {
    if (s.kind === 'request') for (const f of s.schema) if (requestFields.has(f.name)) hints.set(f.name, { type: f.valueType as ValueTypeCode, joinKey: false })
  }
  for (const v of viewQueries) for (const k of v.joinKeys) hints.set(k.name, { type: k.valueType, joinKey: true })

  return {
    entities: entitySource(request.entities, timestampColumn, hints),
    timestampColumn,
    views: viewQueries,
    requiredColumns,
    ...(plans.length > 0 && { transform: onDemandTransform(plans) }),
    outputColumns,
  }
}

function requestedRefs(snapshot: RegistrySnapshot, request: HistoricalFeaturesRequest): FeatureRef[] {
  const svc = request.featureService
  if (svc !== undefined) {
    if (request.features !== undefined && request.features.length > 0) {
      throw new MorselError('MORSEL_REQUEST_INVALID', 'Give either `features` or `featureService`, not both.')
    }
    const spec = snapshot.getFeatureService(typeof svc === 'string' ? svc : svc.spec.name)
    return spec.projections.flatMap((p) => p.features.map((feature) => ({ view: p.view, feature })))
  }
  const features = request.features ?? []
  if (features.length === 0) {
    throw new MorselError('MORSEL_REQUEST_INVALID', 'No features requested: give `features` (e.g. ["zipcode_features:city"]) or `featureService`.')
  }
  return features.map(parseFeatureRef)
}

/** The file a view's rows are read from: its file source, or its push source's batch source. */
export function batchSource(snapshot: RegistrySnapshot, view: FeatureViewSpec): FileSourceSpec {
  const source = snapshot.getDataSource(view.source)
  if (source.kind === 'file') return source
  if (source.kind === 'push') return source.batchSource
  throw new MorselError('MORSEL_DEFINITION_INVALID', `Feature view '${view.name}' reads request source '${source.name}'; a feature view needs a batch or push source.`)
}

interface OnDemandPlan {
  readonly name: string
  readonly udf: OnDemandUdf
  /** Input names as the function sees them, and the result column each comes from. */
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly column: string }>
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly feature: string; readonly valueType: ValueTypeCode }>
}

/** Every requested on-demand feature as one transform, run row by row on each batch of the join. */
function onDemandTransform(plans: readonly OnDemandPlan[]): ResultTransform {
  const inputs = [...new Set(plans.flatMap((p) => p.inputs.map((i) => i.column)))]
  const outputs = plans.flatMap((p) => p.outputs.map((o) => ({ name: o.name, valueType: o.valueType })))
  return {
    inputs,
    outputs,
    apply(batch: ColumnarRows): ReadonlyArray<readonly unknown[]> {
      const result: unknown[][] = []
      for (const p of plans) {
        const cols = p.inputs.map((i) => batch.columns.get(i.column) as readonly unknown[])
        const outs = p.outputs.map(() => new Array<unknown>(batch.rowCount))
        for (let r = 0; r < batch.rowCount; r++) {
          const row: Record<string, unknown> = {}
          for (let i = 0; i < cols.length; i++) row[(p.inputs[i] as { name: string }).name] = (cols[i] as readonly unknown[])[r] ?? null
          const out = callUdf(p.name, p.udf, row, JSON.stringify(row, jsonSafe))
          p.outputs.forEach((o, j) => {
            ;(outs[j] as unknown[])[r] = udfOutput(p.name, out, o.feature, o.valueType)
          })
        }
        result.push(...outs)
      }
      return result
    },
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

/**
 * Entity rows given as objects, with each column typed: the timestamp column as epoch
 * microseconds, join keys and request fields as registered, other columns from their values.
 */
function entitySource(input: EntityInput, timestampColumn: string, hints: ReadonlyMap<string, { readonly type: ValueTypeCode; readonly joinKey: boolean }>): EntitySource {
  if (!Array.isArray(input)) {
    const i = input as { path?: unknown; sql?: unknown }
    if (typeof i.path === 'string' && i.sql === undefined) return { kind: 'file', path: i.path }
    if (typeof i.sql === 'string' && i.path === undefined) return { kind: 'sql', sql: i.sql }
    throw new MorselError('MORSEL_REQUEST_INVALID', '`entities` must be an array of rows, `{ path }` of a Parquet or CSV file, or `{ sql }`.')
  }
  const cols = entityRowsToColumns(input)
  const columns = new Map<string, readonly unknown[]>()
  const types: ValueTypeCode[] = []
  for (const name of cols.names) {
    const values = cols.columns.get(name) as readonly unknown[]
    const hint = hints.get(name)
    if (name === timestampColumn || hint?.type === ValueType.UNIX_TIMESTAMP) {
      columns.set(name, values.map((v, r) => (v === null || v === undefined ? null : toEpochMicros(v, `Entity row ${r}: '${name}'`))))
      types.push(ValueType.UNIX_TIMESTAMP)
      continue
    }
    const type = hint?.type ?? inferType(name, values)
    for (let r = 0; r < values.length; r++) {
      const v = values[r]
      if (v !== null && v !== undefined && !fitsType(v, type)) {
        throw new MorselError(
          hint?.joinKey === true ? 'MORSEL_ENTITY_KEY_INVALID' : 'MORSEL_REQUEST_INVALID',
          `Entity row ${r}: '${name}' is ${JSON.stringify(v, jsonSafe) ?? typeof v}, but the column holds ${typeLabel(type)} values.`,
          { details: { column: name, row: r } },
        )
      }
    }
    columns.set(name, values)
    types.push(type)
  }
  return { kind: 'rows', rows: { names: cols.names, columns, rowCount: cols.rowCount }, types }
}

function inferType(name: string, values: readonly unknown[]): ValueTypeCode {
  let type: ValueTypeCode | undefined
  for (const v of values) {
    if (v === null || v === undefined) continue
    let t: ValueTypeCode
    if (typeof v === 'number') t = Number.isInteger(v) && type !== ValueType.DOUBLE ? ValueType.INT64 : ValueType.DOUBLE
    else if (typeof v === 'bigint') t = ValueType.INT64
    else if (typeof v === 'string') t = ValueType.STRING
    else if (typeof v === 'boolean') t = ValueType.BOOL
    else if (v instanceof Date) t = ValueType.UNIX_TIMESTAMP
    else if (v instanceof Uint8Array) t = ValueType.BYTES
    else {
      throw new MorselError('MORSEL_REQUEST_INVALID', `Entity column '${name}' holds ${Array.isArray(v) ? 'a list' : typeof v}; entity rows take numbers, strings, booleans, Dates and bytes.`)
    }
    if (type === undefined || (type === ValueType.INT64 && t === ValueType.DOUBLE)) type = t
    else if (!(type === ValueType.DOUBLE && t === ValueType.INT64) && type !== t) {
      throw new MorselError('MORSEL_REQUEST_INVALID', `Entity column '${name}' mixes ${typeLabel(type)} and ${typeLabel(t)} values; give it one type.`)
    }
  }
  return type ?? ValueType.STRING
}

function typeLabel(type: ValueTypeCode): string {
  switch (type) {
    case ValueType.INT32:
    case ValueType.INT64:
      return 'integer'
    case ValueType.DOUBLE:
    case ValueType.FLOAT:
      return 'number'
    case ValueType.STRING:
      return 'string'
    case ValueType.BOOL:
      return 'boolean'
    case ValueType.UNIX_TIMESTAMP:
      return 'timestamp'
    case ValueType.BYTES:
      return 'bytes'
    default:
      return `type ${type}`
  }
}
