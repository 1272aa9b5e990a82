import type { FeatureRef } from '../definitions/feature-ref.js'
import { parseFeatureRef } from '../definitions/feature-ref.js'
import type { FieldSpec, FeatureViewSpec, OnDemandFeatureViewSpec } from '../definitions/specs.js'
import type { EntityKeyEncoder, EntityKeyVersion, JoinKeySpec } from '../encoding/index.js'
import { createKeyEncoder } from './key-encoder.js'
import { MorselError, didYouMean } from '../errors/index.js'
import type { OnlineStore, PreparedRead } from '../online/online-store.js'
import type { RegistrySnapshot } from '../registry/registry-snapshot.js'
import type { OnDemandUdf } from '../repo/repo-contents.js'
import { resolveUdf, type LoadedUdfs } from './on-demand.js'
import type { ValueTypeCode } from '../types/value-type.js'

/** One feature column of a response, or a hidden input of an on-demand view. */
export interface ColumnPlan {
  /** Output name: `feature`, or `view__feature` with full feature names. */
  readonly name: string
  readonly view: string
  readonly feature: string
  readonly valueType: ValueTypeCode
  /** False for features read only to feed an on-demand view. */
  readonly visible: boolean
  readonly onDemand: boolean
}

export interface ViewReadPlan {
  readonly name: string
  /** 0: no limit. */
  readonly ttlMicros: number
  /** For each of the view's cells, the column it fills. */
  readonly columns: readonly number[]
}

/** Views that share one set of join keys, and so one stored entity (one Redis hash). */
export interface GroupReadPlan {
  readonly joinKeys: readonly JoinKeySpec[]
  readonly encoder: EntityKeyEncoder
  readonly views: readonly ViewReadPlan[]
  /** Number of feature cells before the timestamp cells (see `EntityCells`). */
  readonly featureCells: number
}

export interface OnDemandPlan {
  readonly name: string
  readonly udf: OnDemandUdf
  /** Input names, and where each comes from: a column, or a request field. */
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly column: number } | { readonly name: string; readonly requestField: string }>
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly column: number; readonly valueType: ValueTypeCode }>
}

/**
 * Everything needed to serve one feature set, resolved once against one registry snapshot: no
 * registry lookup, name parsing or schema work happens per request.
 */
export interface ReadPlan {
  readonly columns: readonly ColumnPlan[]
  /** Columns in response order (hidden inputs left out). */
  readonly visibleColumns: readonly number[]
  readonly groups: readonly GroupReadPlan[]
  readonly prepared: PreparedRead
  readonly onDemand: readonly OnDemandPlan[]
  /** Every join key the request must carry, with its type. */
  readonly joinKeys: readonly JoinKeySpec[]
  readonly joinKeyNames: readonly string[]
  /** Request-data fields the on-demand views need. */
  readonly requestFields: readonly FieldSpec[]
  readonly requestFieldNames: readonly string[]
  readonly fullFeatureNames: boolean
}

export interface PlanRequest {
  readonly features?: readonly string[]
  readonly featureService?: string
  readonly fullFeatureNames: boolean
}

export function compileReadPlan(
  snapshot: RegistrySnapshot,
  request: PlanRequest,
  store: OnlineStore,
  version: EntityKeyVersion,
  udfs: LoadedUdfs,
): ReadPlan {
  const refs = requestedRefs(snapshot, request)
  const columns: ColumnPlan[] = []
  const columnOf = new Map<string, number>()
  const addColumn = (ref: FeatureRef, visible: boolean, valueType: ValueTypeCode, onDemand: boolean): number => {
    const key = `${ref.view}:${ref.feature}`
    const existing = columnOf.get(key)
    if (existing !== undefined) {
      if (visible) {
        throw new MorselError('MORSEL_REQUEST_INVALID', `Feature '${key}' is requested twice; list each feature once.`)
      }
      return existing
    }
    const name = request.fullFeatureNames ? `${ref.view}__${ref.feature}` : ref.feature
    columns.push({ name, view: ref.view, feature: ref.feature, valueType, visible, onDemand })
    columnOf.set(key, columns.length - 1)
    return columns.length - 1
  }

  const storedViews = new Map<string, FeatureViewSpec>()
  const odfvs = new Map<string, OnDemandFeatureViewSpec>()
  for (const ref of refs) {
    const found = snapshot.getAnyView(ref.view)
    const fields = found.spec.features
    const field = fields.find((f) => f.name === ref.feature)
    if (field === undefined) {
      throw new MorselError(
        'MORSEL_FEATURE_NOT_FOUND',
        `Feature '${ref.feature}' is not in view '${ref.view}'.${didYouMean(ref.feature, fields.map((f) => f.name))} It has: ${fields.map((f) => f.name).join(', ')}.`,
        { details: { feature: `${ref.view}:${ref.feature}` } },
      )
    }
    addColumn(ref, true, field.valueType as ValueTypeCode, found.kind === 'onDemand')
    if (found.kind === 'featureView') storedViews.set(found.spec.name, found.spec)
    else odfvs.set(found.spec.name, found.spec)
  }

  // On-demand inputs: stored features the caller did not ask for are read as hidden columns.
  const requestFields = new Map<string, FieldSpec>()
  const onDemand: OnDemandPlan[] = []
  for (const o of odfvs.values()) {
    const udf = resolveUdf(o, udfs)
    const inputs: Array<{ name: string; column: number } | { name: string; requestField: string }> = []
    for (const s of o.sources) {
      if (s.kind === 'featureView') {
        const v = snapshot.getFeatureView(s.name)
        storedViews.set(v.name, v)
        for (const f of s.features) {
          const field = v.features.find((x) => x.name === f)
          if (field === undefined) {
            throw new MorselError('MORSEL_DEFINITION_INVALID', `On-demand feature view '${o.name}' reads '${v.name}:${f}', which is no longer registered; run \`morsel apply\`.`)
          }
          inputs.push({ name: f, column: addColumn({ view: v.name, feature: f }, false, field.valueType as ValueTypeCode, false) })
        }
      } else {
        const src = snapshot.getDataSource(s.name)
        if (src.kind !== 'request') throw new MorselError('MORSEL_DEFINITION_INVALID', `'${s.name}' is not a request source.`)
        for (const f of src.schema) {
          requestFields.set(f.name, f)
          inputs.push({ name: f.name, requestField: f.name })
        }
      }
    }
    const outputs = o.features
      .map((f) => ({ name: f.name, column: columnOf.get(`${o.name}:${f.name}`), valueType: f.valueType as ValueTypeCode }))
      .filter((x): x is { name: string; column: number; valueType: ValueTypeCode } => x.column !== undefined)
    onDemand.push({ name: o.name, udf, inputs, outputs })
  }

  // Group stored views by their join-key set: each group is one stored entity per key.
  const groupsByKey = new Map<string, { joinKeys: JoinKeySpec[]; views: FeatureViewSpec[] }>()
  const joinKeys = new Map<string, JoinKeySpec>()
  for (const v of storedViews.values()) {
    const keys = v.entityColumns.map((c) => ({ name: c.name, valueType: c.valueType as ValueTypeCode }))
    const id = keys.map((k) => k.name).sort().join('\u0000')
    const g = groupsByKey.get(id)
    if (g) g.views.push(v)
    else groupsByKey.set(id, { joinKeys: keys, views: [v] })
    for (const k of keys) joinKeys.set(k.name, k)
  }
  const groups: GroupReadPlan[] = []
  for (const g of groupsByKey.values()) {
    let featureCells = 0
    const views: ViewReadPlan[] = g.views.map((v) => {
      const cols: number[] = []
      for (const f of v.features) {
        const c = columnOf.get(`${v.name}:${f.name}`)
        if (c !== undefined) cols.push(c)
      }
      featureCells += cols.length
      return { name: v.name, ttlMicros: v.ttlSeconds * 1_000_000, columns: cols }
    })
    groups.push({ joinKeys: g.joinKeys, encoder: createKeyEncoder(g.joinKeys, version), views, featureCells })
  }
  const prepared = store.prepareRead(
    groups.map((g) => ({
      joinKeys: g.joinKeys.map((k) => k.name).sort(),
      views: g.views.map((v) => ({ name: v.name, features: v.columns.map((c) => (columns[c] as ColumnPlan).feature) })),
    })),
  )

  const visibleColumns = columns.flatMap((c, i) => (c.visible ? [i] : []))
  checkCollisions(columns, visibleColumns, [...joinKeys.keys(), ...requestFields.keys()])
  return {
    columns,
    visibleColumns,
    groups,
    prepared,
    onDemand,
    joinKeys: [...joinKeys.values()],
    joinKeyNames: [...joinKeys.keys()],
    requestFields: [...requestFields.values()],
    requestFieldNames: [...requestFields.keys()],
    fullFeatureNames: request.fullFeatureNames,
  }
}

function requestedRefs(snapshot: RegistrySnapshot, request: PlanRequest): FeatureRef[] {
  if (request.featureService !== undefined) {
    const svc = snapshot.getFeatureService(request.featureService)
    return svc.projections.flatMap((p) => p.features.map((feature) => ({ view: p.view, feature })))
  }
  const features = request.features ?? []
  if (features.length === 0) {
    throw new MorselError('MORSEL_REQUEST_INVALID', 'No features requested: give `features` (e.g. ["zipcode_features:city"]) or `featureService`.')
  }
  return features.map(parseFeatureRef)
}

function checkCollisions(columns: readonly ColumnPlan[], visible: readonly number[], reserved: readonly string[]): void {
  const seen = new Map<string, string>()
  for (const r of reserved) seen.set(r, 'an entity or request column')
  for (const i of visible) {
    const c = columns[i] as ColumnPlan
    const prev = seen.get(c.name)
    if (prev !== undefined) {
      throw new MorselError(
        'MORSEL_FEATURE_NAME_COLLISION',
        `Feature name '${c.name}' is ambiguous: it comes from view '${c.view}' and from ${prev}. Ask with full feature names (\`full_feature_names: true\`, giving '${c.view}__${c.feature}'), or request only one of them.`,
        { details: { name: c.name } },
      )
    }
    seen.set(c.name, `view '${c.view}'`)
  }
}
