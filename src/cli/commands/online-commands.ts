import { readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import type { Command } from 'commander'
import { MorselError } from '../../errors/index.js'
import type { FeatureStore } from '../../feature-store.js'
import { parseDateTimeMicros } from '../../internal/time.js'
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js'
import { toFeastJson } from '../../serving/feast-json.js'
import { ValueType } from '../../types/value-type.js'
import { withStore } from '../context.js'

export function registerOnlineCommands(program: Command): void {
  program
    .command('write-to-online-store')
    .description('Write rows of a feature view from a JSON, CSV or Parquet file to the online store')
    .argument('<view>', 'the feature view')
    .argument('<file>', 'rows: .json (an array of objects, or an object of columns), .csv or .parquet')
    .action(async (view: string, file: string, _opts, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const rows = await readRows(store, file)
        const r = await store.writeToOnlineStore(view, rows)
        process.stdout.write(
          `Wrote ${r.rows} rows to feature view ${view}: ${r.written} stored, ${r.skipped} skipped (an equal or newer event time was already stored).\n`,
        )
      })
    })

  program
    .command('get-online-features')
    .description('Read features of entities from the online store and print Feast-style JSON')
    .option('-f, --features <refs...>', 'feature references view:feature (comma-separated or repeated)')
    .option('-s, --feature-service <name>', 'a feature service instead of --features')
    .option('-e, --entity <key=value...>', 'a join key or request field value; repeat a key for several entity rows', collect, [])
    .option('--full-feature-names', 'name features view__feature')
    .action(async (opts: { features?: string[]; featureService?: string; entity: string[]; fullFeatureNames?: boolean }, cmd: Command) => {
      const features = (opts.features ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean)
      if ((features.length === 0) === (opts.featureService === undefined)) {
        throw new MorselError('MORSEL_USAGE', 'Give either --features view:feature,... or --feature-service NAME.')
      }
      await withStore(cmd, async (store) => {
        const entities = parseEntityArgs(opts.entity, await store.registry.snapshot())
        const response = await store.getOnlineFeatures({
          ...(opts.featureService !== undefined ? { featureService: opts.featureService } : { features }),
          entities,
          fullFeatureNames: opts.fullFeatureNames === true,
        })
        process.stdout.write(`${JSON.stringify(JSON.parse(toFeastJson(response)), null, 2)}\n`)
      })
    })
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/** `zipcode=76104` arguments into columns, typed by the registered join keys and request fields. */
export function parseEntityArgs(args: readonly string[], snapshot: RegistrySnapshot): Record<string, unknown[]> {
  if (args.length === 0) throw new MorselError('MORSEL_USAGE', 'Give at least one --entity key=value (for example --entity zipcode=76104).')
  const types = new Map<string, number>()
  for (const e of snapshot.entities.values()) types.set(e.joinKey, e.valueType)
  for (const s of snapshot.dataSources.values()) if (s.kind === 'request') for (const f of s.schema) types.set(f.name, f.valueType)
  const columns: Record<string, unknown[]> = {}
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq <= 0) throw new MorselError('MORSEL_USAGE', `--entity ${arg}: expected key=value, e.g. zipcode=76104.`)
    const key = arg.slice(0, eq)
    const raw = arg.slice(eq + 1)
    ;(columns[key] ??= []).push(coerce(raw, types.get(key), key))
  }
  return columns
}

function coerce(raw: string, type: number | undefined, key: string): unknown {
  switch (type) {
    case ValueType.INT32:
    case ValueType.INT64: {
      if (!/^-?\d+$/.test(raw)) throw new MorselError('MORSEL_USAGE', `--entity ${key}=${raw}: '${key}' is an integer.`)
      const n = Number(raw)
      return Number.isSafeInteger(n) ? n : BigInt(raw)
    }
    case ValueType.FLOAT:
    case ValueType.DOUBLE: {
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(n)) throw new MorselError('MORSEL_USAGE', `--entity ${key}=${raw}: '${key}' is a number.`)
      return n
    }
    case ValueType.BOOL:
      if (raw !== 'true' && raw !== 'false') throw new MorselError('MORSEL_USAGE', `--entity ${key}=${raw}: '${key}' is true or false.`)
      return raw === 'true'
    case ValueType.UNIX_TIMESTAMP: {
      const us = parseDateTimeMicros(raw)
      if (us === undefined) throw new MorselError('MORSEL_USAGE', `--entity ${key}=${raw}: '${key}' is a time such as 2024-01-15T00:00:00Z.`)
      return new Date(us / 1000)
    }
    default:
      return raw
  }
}

async function readRows(store: FeatureStore, file: string): Promise<Record<string, readonly unknown[]> | Array<Record<string, unknown>>> {
  const path = resolve(file)
  if (extname(path).toLowerCase() === '.json') {
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'))
    } catch (err) {
      throw new MorselError('MORSEL_USAGE', `Cannot read ${path} as JSON: ${(err as Error).message}`, { cause: err })
    }
    if (Array.isArray(parsed)) return parsed as Array<Record<string, unknown>>
    if (parsed !== null && typeof parsed === 'object') return parsed as Record<string, readonly unknown[]>
    throw new MorselError('MORSEL_USAGE', `${path} must hold an array of row objects or an object of columns.`)
  }
  const table = await (await store.offlineStore()).readTable(path)
  return Object.fromEntries(table.columns)
}
