import { extname } from 'node:path'
import { MorselError } from '../errors/index.js'
import { KIND, checkName, commonSpec, schemaToFields, type CommonOptions, type SchemaDef } from './common.js'
import type { FileFormat, FileSourceSpec, PushSourceSpec, RequestSourceSpec } from './specs.js'

export interface FileSourceOptions extends CommonOptions {
  /** Defaults to the file's base name. */
  readonly name?: string
  /** A Parquet or CSV file; relative paths are relative to the feature repository. */
  readonly path: string
  /** Inferred from the extension (`.parquet`, `.csv`) when omitted. */
  readonly fileFormat?: FileFormat
  /** The event-time column. */
  readonly timestampField: string
  /** Breaks ties between rows with the same event time: the later creation wins. */
  readonly createdTimestampColumn?: string
  /** Source column → feature or join-key name, for sources whose columns are named differently. */
  readonly fieldMapping?: Readonly<Record<string, string>>
}

/** Historical feature rows in a Parquet or CSV file (Feast's `FileSource`). */
export class FileSource {
  readonly [KIND] = 'fileSource' as const
  readonly spec: FileSourceSpec

  constructor(options: FileSourceOptions) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new MorselError('MORSEL_DEFINITION_INVALID', 'FileSource: `path` is required (a .parquet or .csv file).')
    }
    const ext = extname(options.path).toLowerCase()
    const base = options.path.split(/[\\/]/).pop()?.replace(/\.[^.]*$/, '') ?? ''
    const name = checkName('FileSource', options.name ?? base.replace(/[^A-Za-z0-9_]/g, '_'))
    const what = `FileSource '${name}'`
    const format = options.fileFormat ?? (ext === '.csv' ? 'csv' : ext === '.parquet' ? 'parquet' : undefined)
    if (format !== 'parquet' && format !== 'csv') {
      throw new MorselError(
        'MORSEL_DEFINITION_INVALID',
        `${what}: cannot tell the format of '${options.path}'; name it .parquet or .csv, or set fileFormat: 'parquet' | 'csv'.`,
      )
    }
    checkName(`${what}: timestampField`, options.timestampField)
    if (options.createdTimestampColumn !== undefined) checkName(`${what}: createdTimestampColumn`, options.createdTimestampColumn)
    const mapping = options.fieldMapping ?? {}
    for (const [from, to] of Object.entries(mapping)) {
      checkName(`${what}: fieldMapping source column`, from)
      checkName(`${what}: fieldMapping target`, to)
    }
    this.spec = Object.freeze({
      kind: 'file',
      name,
      path: options.path,
      format,
      timestampField: options.timestampField,
      createdTimestampColumn: options.createdTimestampColumn ?? '',
      fieldMapping: Object.freeze({ ...mapping }),
      ...commonSpec(what, options),
    })
  }

  get name(): string {
    return this.spec.name
  }
}

export interface PushSourceOptions extends CommonOptions {
  readonly name: string
  /** Offline home of pushed rows, and what materialization reads. */
  readonly batchSource: FileSource
}

/** A source rows are pushed to at run time (`POST /push`), backed by a batch source. */
export class PushSource {
  readonly [KIND] = 'pushSource' as const
  readonly spec: PushSourceSpec

  constructor(options: PushSourceOptions) {
    const name = checkName('PushSource', options.name)
    const batch = options.batchSource as FileSource | undefined
    if (batch?.[KIND] !== 'fileSource') {
      throw new MorselError('MORSEL_DEFINITION_INVALID', `PushSource '${name}': batchSource must be a FileSource.`)
    }
    this.spec = Object.freeze({ kind: 'push', name, batchSource: batch.spec, ...commonSpec(`PushSource '${name}'`, options) })
  }

  get name(): string {
    return this.spec.name
  }
}

export interface RequestSourceOptions<S extends SchemaDef> extends CommonOptions {
  readonly name: string
  readonly schema: S
}

/** Values that arrive with each request (a loan amount, an income), inputs to on-demand features. */
export class RequestSource<S extends SchemaDef = SchemaDef> {
  readonly [KIND] = 'requestSource' as const
  readonly spec: RequestSourceSpec
  declare readonly __schema?: S

  constructor(options: RequestSourceOptions<S>) {
    const name = checkName('RequestSource', options.name)
    const what = `RequestSource '${name}'`
    this.spec = Object.freeze({
      kind: 'request',
      name,
      schema: Object.freeze(schemaToFields(what, options.schema)),
      ...commonSpec(what, options),
    })
  }

  get name(): string {
    return this.spec.name
  }
}
