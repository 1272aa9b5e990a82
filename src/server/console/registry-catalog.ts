import type { DataSourceSpec, FieldSpec } from '../../definitions/specs.js'
import type { Registered } from '../../registry/registry-document.js'
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js'
import type { ConsoleField, ConsoleRegistry, ConsoleSource } from './console-types.js'

/**
 * The registry as the console shows it: every object of the project with what points at it
 * (the views of an entity, the services using a view), so the page needs one request to browse
 * and search everything.
 */
export function registryCatalog(snapshot: RegistrySnapshot): ConsoleRegistry {
  const state = snapshot.state
  const times = <S>(record: Readonly<Record<string, Registered<S>>> | undefined, name: string): { created: string; updated: string } => {
    const r = record?.[name]
    return { created: r?.createdTimestamp ?? '', updated: r?.lastUpdatedTimestamp ?? '' }
  }
  const services = [...snapshot.featureServices.values()]
  const onDemand = [...snapshot.onDemandFeatureViews.values()]
  const servicesUsing = (view: string): string[] => services.filter((s) => s.projections.some((p) => p.view === view)).map((s) => s.name)

  return {
    project: snapshot.project,
    registryVersion: snapshot.version,
    entities: [...snapshot.entities.values()].map((e) => ({
      name: e.name,
      joinKey: e.joinKey,
      dtype: e.dtype,
      description: e.description,
      tags: e.tags,
      owner: e.owner,
      ...times(state?.entities, e.name),
      featureViews: [...snapshot.featureViews.values()].filter((v) => v.entities.includes(e.name)).map((v) => v.name),
    })),
    featureViews: [...snapshot.featureViews.values()].map((v) => {
      const m = snapshot.materialization(v.name)
      return {
        name: v.name,
        entities: v.entities,
        joinKeys: v.entityColumns.map(field),
        features: v.features.map(field),
        ttlSeconds: v.ttlSeconds,
        online: v.online,
        source: source(snapshot.dataSources.get(v.source), v.source),
        description: v.description,
        tags: v.tags,
        owner: v.owner,
        ...times(state?.featureViews, v.name),
        materialization: { intervals: m.intervals, lastRun: m.lastRun ?? null },
        featureServices: servicesUsing(v.name),
        onDemandFeatureViews: onDemand.filter((o) => o.sources.some((s) => s.kind === 'featureView' && s.name === v.name)).map((o) => o.name),
      }
    }),
    onDemandFeatureViews: onDemand.map((o) => ({
      name: o.name,
      sources: o.sources.map((s) => {
        if (s.kind === 'featureView') return { kind: 'featureView' as const, name: s.name, features: s.features }
        const req = snapshot.dataSources.get(s.name)
        return { kind: 'request' as const, name: s.name, schema: req?.kind === 'request' ? req.schema.map(field) : [] }
      }),
      features: o.features.map(field),
      udfSource: o.udfSource,
      udfHash: o.udfHash,
      description: o.description,
      tags: o.tags,
      owner: o.owner,
      ...times(state?.onDemandFeatureViews, o.name),
      featureServices: servicesUsing(o.name),
    })),
    featureServices: services.map((s) => ({
      name: s.name,
      projections: s.projections.map((p) => ({
        view: p.view,
        kind: snapshot.featureViews.has(p.view) ? ('featureView' as const) : snapshot.onDemandFeatureViews.has(p.view) ? ('onDemand' as const) : ('missing' as const),
        features: p.features,
      })),
      description: s.description,
      tags: s.tags,
      owner: s.owner,
      ...times(state?.featureServices, s.name),
    })),
  }
}

function field(f: FieldSpec): ConsoleField {
  return { name: f.name, dtype: f.dtype, description: f.description, tags: f.tags }
}

function source(s: DataSourceSpec | undefined, name: string): ConsoleSource {
  if (s === undefined) return { kind: 'missing', name }
  switch (s.kind) {
    case 'file':
      return {
        kind: 'file',
        name: s.name,
        path: s.path,
        format: s.format,
        timestampField: s.timestampField,
        createdTimestampColumn: s.createdTimestampColumn,
        fieldMapping: s.fieldMapping,
        description: s.description,
        tags: s.tags,
      }
    case 'push':
      return {
        kind: 'push',
        name: s.name,
        batchSource: { name: s.batchSource.name, path: s.batchSource.path, format: s.batchSource.format, timestampField: s.batchSource.timestampField },
        description: s.description,
        tags: s.tags,
      }
    case 'request':
      return { kind: 'request', name: s.name, schema: s.schema.map(field), description: s.description, tags: s.tags }
  }
}
