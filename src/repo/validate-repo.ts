import type { BatchSourceSpec, FeatureViewSpec, FieldSpec } from '../definitions/specs.js'
import { MorselError, didYouMean, type ErrorCode } from '../errors/index.js'
import type { SourceColumn } from '../offline/offline-store.js'
import { ELEMENT_OF, ValueType, type ValueTypeCode } from '../types/value-type.js'
import type { RepoContents } from './repo-contents.js'

interface Problem {
  readonly code: ErrorCode
  readonly message: string
}

export type DescribeSource = (source: BatchSourceSpec) => Promise<readonly SourceColumn[]>

/**
 * Checks a repository before it is applied: cross-references between definitions, and every
 * feature view's columns against its source file. All problems are reported together, each naming
 * the object and the fix; nothing is applied if there is any.
 */
export async function validateRepo(contents: RepoContents, describeSource: DescribeSource): Promise<void> {
  const problems: Problem[] = []
  const def = (message: string): void => {
    problems.push({ code: 'MORSEL_DEFINITION_INVALID', message })
  }
  const entities = new Map(contents.entities.map((e) => [e.name, e]))
  const sources = new Map(contents.dataSources.map((s) => [s.name, s]))
  const views = new Map(contents.featureViews.map((v) => [v.name, v]))
  const odfvs = new Map(contents.onDemandFeatureViews.map((v) => [v.name, v]))

  const joinKeyTypes = new Map<string, { entity: string; dtype: string; valueType: number }>()
  for (const e of contents.entities) {
    const prev = joinKeyTypes.get(e.joinKey)
    if (prev !== undefined && prev.valueType !== e.valueType) {
      def(`Entities '${prev.entity}' (${prev.dtype}) and '${e.name}' (${e.dtype}) share the join key '${e.joinKey}' with different types; online keys would clash. Give them one type or different join keys.`)
    }
    joinKeyTypes.set(e.joinKey, { entity: e.name, dtype: e.dtype, valueType: e.valueType })
  }

  for (const v of contents.featureViews) {
    const what = `Feature view '${v.name}'`
    if (odfvs.has(v.name)) def(`'${v.name}' is both a feature view and an on-demand feature view; names must be unique.`)
    for (const name of v.entities) {
      if (!entities.has(name)) {
        def(`${what} uses entity '${name}', which is not defined in the repository. Export it from a definition file.${didYouMean(name, entities.keys())}`)
      }
    }
    if (v.ttlSeconds < 0 || !Number.isFinite(v.ttlSeconds)) def(`${what}: ttl must be 0 (no limit) or positive, got ${v.ttlSeconds}.`)
    const source = sources.get(v.source)
    if (source === undefined || source.kind === 'request') {
      def(`${what} reads source '${v.source}', which is not a batch or push source of the repository.`)
    }
  }

  for (const o of contents.onDemandFeatureViews) {
    const what = `On-demand feature view '${o.name}'`
    if (!contents.udfs.has(o.name)) def(`${what} has no function in the repository code.`)
    const inputs = new Map<string, string>()
    const addInput = (name: string, from: string): void => {
      const prev = inputs.get(name)
      if (prev !== undefined) def(`${what}: input '${name}' comes from both ${prev} and ${from}; rename one of them.`)
      inputs.set(name, from)
    }
    for (const s of o.sources) {
      if (s.kind === 'featureView') {
        const v = views.get(s.name)
        if (v === undefined) {
          def(`${what} reads feature view '${s.name}', which is not defined in the repository.${didYouMean(s.name, views.keys())}`)
          continue
        }
        for (const f of s.features) {
          if (!v.features.some((x) => x.name === f)) def(`${what} reads '${s.name}:${f}', which is not a feature of '${s.name}'.`)
          addInput(f, `feature view '${s.name}'`)
        }
      } else {
        const r = sources.get(s.name)
        if (r?.kind !== 'request') {
          def(`${what} reads request source '${s.name}', which is not defined in the repository.`)
          continue
        }
        for (const f of r.schema) addInput(f.name, `request source '${s.name}'`)
      }
    }
  }

  for (const svc of contents.featureServices) {
    const what = `Feature service '${svc.name}'`
    for (const p of svc.projections) {
      const fields: readonly FieldSpec[] | undefined = views.get(p.view)?.features ?? odfvs.get(p.view)?.features
      if (fields === undefined) {
        def(`${what} includes '${p.view}', which is not a feature view of the repository.${didYouMean(p.view, [...views.keys(), ...odfvs.keys()])}`)
        continue
      }
      for (const f of p.features) {
        if (!fields.some((x) => x.name === f)) {
          def(`${what} names feature '${p.view}:${f}', which '${p.view}' does not have.${didYouMean(f, fields.map((x) => x.name))}`)
        }
      }
    }
  }

  // Source checks read files, so they run only for views that passed the checks above.
  for (const v of contents.featureViews) {
    const source = sources.get(v.source)
    if (source === undefined || source.kind === 'request') continue
    let columns: readonly SourceColumn[]
    try {
      columns = await describeSource(source)
    } catch (err) {
      problems.push({
        code: err instanceof MorselError ? err.code : 'MORSEL_SOURCE_INVALID',
        message: `Feature view '${v.name}': ${(err as Error).message}`,
      })
      continue
    }
    problems.push(...checkColumns(v, source, columns))
  }

  if (problems.length > 0) {
    const first = problems[0] as Problem
    throw new MorselError(
      first.code,
      problems.length === 1 ? first.message : `${problems.length} problems in the repository:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
      { details: { problems: problems.map((p) => p.message) } },
    )
  }
}

function checkColumns(view: FeatureViewSpec, source: BatchSourceSpec, columns: readonly SourceColumn[]): Problem[] {
  const file = source.kind === 'push' ? source.batchSource : source
  const byName = new Map(columns.map((c) => [c.name, c]))
  const reverse = new Map(Object.entries(file.fieldMapping).map(([from, to]) => [to, from]))
  const out: Problem[] = []
  const bad = (message: string): void => {
    out.push({ code: 'MORSEL_SOURCE_INVALID', message: `Feature view '${view.name}', source '${source.name}' (${file.path}): ${message}` })
  }
  const column = (name: string): SourceColumn | undefined => byName.get(reverse.get(name) ?? name)
  const available = columns.map((c) => c.name)

  for (const [label, name] of [
    ['timestamp field', file.timestampField],
    ['created timestamp column', file.createdTimestampColumn],
  ] as const) {
    if (name === '') continue
    const c = byName.get(name)
    if (c === undefined) bad(`the ${label} '${name}' is not a column of the source.${didYouMean(name, available)} Columns: ${available.join(', ')}.`)
    else if (!c.isTimestamp) bad(`the ${label} '${name}' is ${c.sourceType}, not a timestamp.`)
  }
  for (const f of [...view.entityColumns, ...view.features]) {
    const c = column(f.name)
    const sourceName = reverse.get(f.name) ?? f.name
    if (c === undefined) {
      bad(`column '${sourceName}' (for '${f.name}', declared ${f.dtype}) is not in the source.${didYouMean(sourceName, available)} Add it to the source, map it with fieldMapping, or remove it from the schema.`)
    } else if (!compatible(f.valueType as ValueTypeCode, c.valueType)) {
      bad(`column '${sourceName}' is ${c.sourceType} in the source, but '${f.name}' is declared ${f.dtype}. Change the declared type or the source column.`)
    }
  }
  return out
}

const NUMERIC: readonly number[] = [ValueType.INT32, ValueType.INT64, ValueType.FLOAT, ValueType.DOUBLE]

/** Whether values of the source type can be stored as the declared type without losing meaning. */
export function compatible(declared: ValueTypeCode, source: ValueTypeCode | null): boolean {
  if (source === null) return false
  if (declared === source) return true
  const de = ELEMENT_OF[declared]
  const se = ELEMENT_OF[source]
  if (de !== undefined && se !== undefined) return compatible(de, se)
  if (de !== undefined || se !== undefined) return false
  if (declared === ValueType.INT64) return source === ValueType.INT32
  if (declared === ValueType.DOUBLE || declared === ValueType.FLOAT) return NUMERIC.includes(source)
  return false
}

