import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { kindOf, type DefinitionKind } from '../definitions/common.js'
import type { FileSource, PushSource, RequestSource } from '../definitions/data-source.js'
import type { Entity } from '../definitions/entity.js'
import type { FeatureService } from '../definitions/feature-service.js'
import type { FeatureView } from '../definitions/feature-view.js'
import type { OnDemandFeatureView } from '../definitions/on-demand-feature-view.js'
import type { DataSourceSpec } from '../definitions/specs.js'
import { MorselError, isMorselError } from '../errors/index.js'
import { createIgnore } from './ignore.js'
import type { OnDemandUdf, RepoContents } from './repo-contents.js'

const DEFINITION_FILE = /\.(ts|mts|js|mjs)$/

/** The definition files of a repository, sorted so that loading is deterministic. */
export function listDefinitionFiles(repoPath: string): string[] {
  const ignored = createIgnore(repoPath)
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const abs = join(dir, entry.name)
      const rel = relative(repoPath, abs).split('\\').join('/')
      if (entry.isDirectory()) {
        if (!ignored(rel, true)) walk(abs)
      } else if (entry.isFile() && DEFINITION_FILE.test(entry.name) && !ignored(rel, false)) {
        out.push(abs)
      }
    }
  }
  walk(repoPath)
  return out
}

/**
 * Imports every definition file of a repository straight from TypeScript (no build step) and
 * collects the definitions they export. `import … from 'morsel'` in those files resolves to the
 * running Morsel, whatever folder the repository is in.
 */
export async function loadDefinitions(repoPath: string): Promise<RepoContents> {
  const files = listDefinitionFiles(repoPath)
  const api: unknown = await import('../index.js')
  // Loaded on demand: only apply, plan and on-demand features need to compile TypeScript.
  const { createJiti } = await import('jiti')
  const jiti = createJiti(join(repoPath, '_morsel_loader.js'), {
    moduleCache: false,
    fsCache: false,
    // No interop proxy: it would sit between on-demand functions and every binding they import.
    interopDefault: false,
    virtualModules: { morsel: api },
  })
  const found: Array<{ value: object; file: string }> = []
  for (const file of files) {
    let mod: unknown
    try {
      mod = await jiti.import(file)
    } catch (err) {
      if (isMorselError(err)) {
        throw new MorselError(err.code, `${relative(repoPath, file)}: ${err.message}`, { cause: err, details: err.details })
      }
      throw new MorselError(
        'MORSEL_REPO_INVALID',
        `Could not load ${relative(repoPath, file)}: ${(err as Error).message ?? String(err)}. Fix the file, or list it in .morselignore if it is not a definition file.`,
        { cause: err },
      )
    }
    for (const value of exportedValues(mod)) found.push({ value, file: relative(repoPath, file) })
  }
  return collect(found)
}

function exportedValues(mod: unknown): object[] {
  if (mod === null || typeof mod !== 'object') return []
  const out: object[] = []
  const visit = (v: unknown): void => {
    if (kindOf(v) !== undefined) out.push(v as object)
    else if (Array.isArray(v)) for (const x of v) if (kindOf(x) !== undefined) out.push(x as object)
  }
  for (const key of Object.keys(mod)) visit((mod as Record<string, unknown>)[key])
  return out
}

/** Turns the exported objects into specs, rejecting two different objects under one name. */
export function collect(found: ReadonlyArray<{ value: object; file: string }>): RepoContents {
  const byKind = new Map<string, { spec: unknown; file: string; value: object }>()
  const origins = new Map<string, string>()
  const udfs = new Map<string, OnDemandUdf>()
  const add = (kind: DefinitionKind | 'dataSource', name: string, spec: unknown, value: object, file: string): void => {
    const key = `${kind}:${name}`
    const prev = byKind.get(key)
    if (prev !== undefined) {
      if (prev.value === value || JSON.stringify(prev.spec) === JSON.stringify(spec)) return
      throw new MorselError(
        'MORSEL_DEFINITION_INVALID',
        `Two different ${plural(label(kind))} are named '${name}' (in ${prev.file} and ${file}); names must be unique within a project.`,
      )
    }
    byKind.set(key, { spec, file, value })
    origins.set(key, file)
  }
  const addSource = (s: FileSource | PushSource | RequestSource, file: string): void => add('dataSource', s.spec.name, s.spec, s, file)

  for (const { value, file } of found) {
    const kind = kindOf(value)
    switch (kind) {
      case 'entity':
        add(kind, (value as Entity).spec.name, (value as Entity).spec, value, file)
        break
      case 'fileSource':
      case 'pushSource':
      case 'requestSource':
        addSource(value as FileSource, file)
        break
      case 'featureView': {
        const v = value as FeatureView
        add(kind, v.spec.name, v.spec, value, file)
        addSource(v.source, file)
        break
      }
      case 'onDemandFeatureView': {
        const v = value as OnDemandFeatureView
        add(kind, v.spec.name, v.spec, value, file)
        udfs.set(v.spec.name, v.udf)
        for (const s of v.sources) if (kindOf(s) === 'requestSource') addSource(s as RequestSource, file)
        break
      }
      case 'featureService':
        add(kind, (value as FeatureService).spec.name, (value as FeatureService).spec, value, file)
        break
      case 'featureViewProjection':
      case undefined:
        break
    }
  }
  const specsOf = <S>(kind: string): S[] =>
    [...byKind.entries()].filter(([k]) => k.startsWith(`${kind}:`)).map(([, v]) => v.spec as S)
  return {
    entities: specsOf('entity'),
    dataSources: specsOf<DataSourceSpec>('dataSource'),
    featureViews: specsOf('featureView'),
    onDemandFeatureViews: specsOf('onDemandFeatureView'),
    featureServices: specsOf('featureService'),
    udfs,
    origins,
  }
}

function plural(noun: string): string {
  return noun.endsWith('y') ? `${noun.slice(0, -1)}ies` : `${noun}s`
}

function label(kind: string): string {
  return kind.replace(/([A-Z])/g, ' $1').toLowerCase()
}

