import type { FeatureViewSpec } from '../definitions/specs.js'
import type { RepoContents } from '../repo/repo-contents.js'
import { randomUUID } from 'node:crypto'
import { emptyProject, type PendingOnlineDelete, type ProjectState, type Registered } from './registry-document.js'

export const OBJECT_KINDS = ['entity', 'data source', 'feature view', 'on demand feature view', 'feature service'] as const
export type ObjectKind = (typeof OBJECT_KINDS)[number]
export type PlanAction = 'register' | 'update' | 'delete' | 'unchanged'

export interface PlanItem {
  readonly kind: ObjectKind
  readonly name: string
  readonly action: PlanAction
  /** For updates: what changed, one line per field. */
  readonly changes: readonly string[]
}

/** The difference between a repository and what is registered, as `morsel plan` shows it. */
export interface RepoPlan {
  readonly project: string
  /** The registry version the plan was made against; apply commits only onto this version. */
  readonly baseVersion: number
  readonly items: readonly PlanItem[]
  /** Registered views whose online data becomes unreachable: deleted, or re-keyed. */
  readonly staleOnlineViews: readonly FeatureViewSpec[]
  readonly hasChanges: boolean
}

type Section = 'entities' | 'dataSources' | 'featureViews' | 'onDemandFeatureViews' | 'featureServices'
const SECTIONS: ReadonlyArray<[Section, ObjectKind]> = [
  ['entities', 'entity'],
  ['dataSources', 'data source'],
  ['featureViews', 'feature view'],
  ['onDemandFeatureViews', 'on demand feature view'],
  ['featureServices', 'feature service'],
]

function desiredOf(contents: RepoContents, section: Section): ReadonlyArray<{ readonly name: string }> {
  return contents[section]
}

export function computePlan(project: string, baseVersion: number, current: ProjectState | undefined, contents: RepoContents): RepoPlan {
  const items: PlanItem[] = []
  for (const [section, kind] of SECTIONS) {
    const registered: Readonly<Record<string, Registered<unknown>>> = current?.[section] ?? {}
    const desired = desiredOf(contents, section)
    const desiredNames = new Set(desired.map((d) => d.name))
    for (const spec of desired) {
      const before = registered[spec.name]?.spec
      if (before === undefined) items.push({ kind, name: spec.name, action: 'register', changes: [] })
      else {
        const changes = diffSpecs(before, spec)
        items.push({ kind, name: spec.name, action: changes.length ? 'update' : 'unchanged', changes })
      }
    }
    for (const name of Object.keys(registered)) {
      if (!desiredNames.has(name)) items.push({ kind, name, action: 'delete', changes: [] })
    }
  }
  const staleOnlineViews: FeatureViewSpec[] = []
  for (const [name, reg] of Object.entries(current?.featureViews ?? {})) {
    const next = contents.featureViews.find((v) => v.name === name)
    if (next === undefined || !sameKeys(next, reg.spec)) staleOnlineViews.push(reg.spec)
  }
  return { project, baseVersion, items, staleOnlineViews, hasChanges: items.some((i) => i.action !== 'unchanged') }
}

/** Whether two versions of a view store their online data under the same keys. */
function sameKeys(a: FeatureViewSpec, b: FeatureViewSpec): boolean {
  const keys = (v: FeatureViewSpec): string => v.entityColumns.map((c) => `${c.name}:${c.valueType}`).join(',')
  return keys(a) === keys(b)
}

/**
 * The project state after applying `contents` onto `current`: creation times and materialization
 * history kept, a new definitions id when any definition changed, and the online data of views that
 * were deleted or re-keyed queued for removal.
 */
export function applyPlanToState(current: ProjectState | undefined, contents: RepoContents, now: string, description: string): ProjectState {
  const base = current ?? emptyProject(now, description)
  let changed = current === undefined
  const section = <S extends { readonly name: string }>(name: Section, desired: readonly S[]): Record<string, Registered<S>> => {
    const before = base[name] as unknown as Readonly<Record<string, Registered<S>>>
    const out: Record<string, Registered<S>> = {}
    for (const spec of desired) {
      const prev = before[spec.name]
      const same = prev !== undefined && JSON.stringify(prev.spec) === JSON.stringify(spec)
      if (!same) changed = true
      out[spec.name] = {
        spec,
        createdTimestamp: prev?.createdTimestamp ?? now,
        lastUpdatedTimestamp: same ? prev.lastUpdatedTimestamp : now,
      }
    }
    if (Object.keys(before).some((n) => out[n] === undefined)) changed = true
    return out
  }
  const entities = section('entities', contents.entities)
  const dataSources = section('dataSources', contents.dataSources)
  const featureViews = section('featureViews', contents.featureViews)
  const onDemandFeatureViews = section('onDemandFeatureViews', contents.onDemandFeatureViews)
  const featureServices = section('featureServices', contents.featureServices)
  // History survives re-applies of a view, but not its deletion or a change of its keys.
  const materializations = Object.fromEntries(
    Object.entries(base.materializations).filter(([view]) => {
      const prev = base.featureViews[view]?.spec
      const next = featureViews[view]?.spec
      return prev !== undefined && next !== undefined && sameKeys(prev, next)
    }),
  )
  const stale: PendingOnlineDelete[] = Object.values(base.featureViews)
    .map((r) => r.spec)
    .filter((prev) => {
      const next = featureViews[prev.name]?.spec
      return next === undefined || !sameKeys(prev, next)
    })
    .map((v) => ({ name: v.name, joinKeys: v.entityColumns.map((c) => c.name), features: v.features.map((f) => f.name) }))
  // Earlier removals still pending are kept, except for a view now defined again with the same keys,
  // whose data is being served again and must not be removed under it.
  const earlier = (base.pendingOnlineDeletes ?? []).filter((p) => {
    const defined = featureViews[p.name]?.spec
    return !stale.some((s) => s.name === p.name) && (defined === undefined || defined.entityColumns.map((c) => c.name).join(',') !== p.joinKeys.join(','))
  })
  return {
    description: description || base.description,
    createdTimestamp: base.createdTimestamp,
    lastUpdatedTimestamp: now,
    entities,
    dataSources,
    featureViews,
    onDemandFeatureViews,
    featureServices,
    materializations,
    definitionsId: changed || base.definitionsId === undefined ? randomUUID() : base.definitionsId,
    pendingOnlineDeletes: [...earlier, ...stale],
  }
}

/** Field-level differences between two specs, readable: `ttlSeconds: 7776000 → 86400`. */
export function diffSpecs(before: unknown, after: unknown): string[] {
  const a = before as Record<string, unknown>
  const b = after as Record<string, unknown>
  const out: string[] = []
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key]
    const y = b[key]
    if (JSON.stringify(x) === JSON.stringify(y)) continue
    if (isList(x) && isList(y) && [...x, ...y].every((e) => typeof e === 'object' && e !== null && 'name' in e)) {
      const names = (l: readonly unknown[]): Map<string, string> => new Map(l.map((e) => [String((e as { name: unknown }).name), JSON.stringify(e)]))
      const xm = names(x)
      const ym = names(y)
      const parts: string[] = []
      for (const [n, v] of ym) if (!xm.has(n)) parts.push(`+${n}`)
      else if (xm.get(n) !== v) parts.push(`~${n}`)
      for (const n of xm.keys()) if (!ym.has(n)) parts.push(`-${n}`)
      out.push(`${key}: ${parts.join(' ') || 'reordered'}`)
    } else {
      out.push(`${key}: ${short(x)} → ${short(y)}`)
    }
  }
  return out
}

function short(v: unknown): string {
  const s = v === undefined ? '(none)' : JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

function isList(v: unknown): v is readonly unknown[] {
  return Array.isArray(v)
}
