import { resolve } from 'node:path'
import type { Command } from 'commander'
import { MorselError } from '../../errors/index.js'
import { parseDateTimeMicros } from '../../internal/time.js'
import type { MaterializeResult } from '../../materialization/materialize.js'
import { withStore } from '../context.js'
import { createProgressReporter } from '../materialize-progress.js'

interface MaterializeFlags {
  readonly views?: string[]
  readonly wait?: string
}

export function registerOfflineCommands(program: Command): void {
  program
    .command('get-historical-features')
    .description('Build a training set: point-in-time correct features for the entity rows of a file')
    .requiredOption('--entities <file>', 'entity rows: a .parquet or .csv file with the join keys and an event_timestamp column')
    .option('--features <refs...>', 'feature references view:feature (comma-separated or repeated)')
    .option('--feature-service <name>', 'a feature service instead of --features')
    .option('--full-feature-names', 'name features view__feature')
    .requiredOption('-o, --output <file>', 'where to write the training set: .parquet or .csv')
    .action(async (opts: { entities: string; features?: string[]; featureService?: string; fullFeatureNames?: boolean; output: string }, cmd: Command) => {
      const features = splitList(opts.features)
      if ((features.length === 0) === (opts.featureService === undefined)) {
        throw new MorselError('MORSEL_USAGE', 'Give either --features view:feature,... or --feature-service NAME.')
      }
      if (!/\.(parquet|csv)$/i.test(opts.output)) throw new MorselError('MORSEL_USAGE', `--output ${opts.output}: name the file .parquet or .csv.`)
      if (!/\.(parquet|csv)$/i.test(opts.entities)) throw new MorselError('MORSEL_USAGE', `--entities ${opts.entities}: give a .parquet or .csv file.`)
      await withStore(cmd, async (store) => {
        const t0 = performance.now()
        const job = store.getHistoricalFeatures({
          entities: { path: resolve(opts.entities) },
          ...(opts.featureService !== undefined ? { featureService: opts.featureService } : { features }),
          fullFeatureNames: opts.fullFeatureNames === true,
        })
        const output = resolve(opts.output)
        const { rows } = await job.toFile(output)
        process.stdout.write(`Wrote ${rows} row${rows === 1 ? '' : 's'} to ${output} in ${((performance.now() - t0) / 1000).toFixed(1)}s.\n`)
      })
    })

  program
    .command('materialize')
    .description('Load the latest feature values of a time window into the online store')
    .argument('<start>', 'window start, ISO 8601 (e.g. 2024-01-01T00:00:00Z; no zone means UTC) or "now"')
    .argument('<end>', 'window end, inclusive, ISO 8601 or "now"')
    .option('--views <names...>', 'feature views to materialize (comma-separated or repeated); default: every online view')
    .option('--wait <seconds>', 'if another materialization of the project runs, wait this long for it instead of failing')
    .action(async (startArg: string, endArg: string, opts: MaterializeFlags, cmd: Command) => {
      const start = parseTime(startArg, 'START')
      const end = parseTime(endArg, 'END')
      await withStore(cmd, async (store) => {
        const progress = createProgressReporter()
        let result: MaterializeResult
        try {
          result = await store.materialize({ start, end, ...common(opts), onProgress: progress.onProgress })
        } finally {
          progress.stop()
        }
        report(result)
      })
    })

  program
    .command('materialize-incremental')
    .description('Load each view from where its last materialization ended up to END')
    .argument('<end>', 'window end, inclusive, ISO 8601 or "now"')
    .option('--views <names...>', 'feature views to materialize (comma-separated or repeated); default: every online view')
    .option('--wait <seconds>', 'if another materialization of the project runs, wait this long for it instead of failing')
    .action(async (endArg: string, opts: MaterializeFlags, cmd: Command) => {
      const end = parseTime(endArg, 'END')
      await withStore(cmd, async (store) => {
        const progress = createProgressReporter()
        let result: MaterializeResult
        try {
          result = await store.materializeIncremental({ end, ...common(opts), onProgress: progress.onProgress })
        } finally {
          progress.stop()
        }
        report(result)
      })
    })
}

function common(opts: MaterializeFlags): { views?: string[]; waitMs?: number } {
  const views = splitList(opts.views)
  let waitMs: number | undefined
  if (opts.wait !== undefined) {
    const s = Number(opts.wait)
    if (!Number.isFinite(s) || s < 0) throw new MorselError('MORSEL_USAGE', `--wait ${opts.wait}: give a number of seconds.`)
    waitMs = s * 1000
  }
  return { ...(views.length > 0 && { views }), ...(waitMs !== undefined && { waitMs }) }
}

function report(result: MaterializeResult): void {
  if (result.views.length === 0) {
    process.stdout.write('No feature views to materialize: no view has `online: true`. Name views with --views.\n')
    return
  }
  for (const v of result.views) {
    const window = `${v.start.toISOString()} to ${v.end.toISOString()}`
    if (v.start.getTime() > v.end.getTime()) {
      process.stdout.write(`${v.view}: already materialized up to ${v.start.toISOString()}, after END; nothing to do.\n`)
      continue
    }
    process.stdout.write(`${v.view}: materialized ${window}: ${v.rows} rows, ${v.written} written, ${v.skipped} skipped (newer already online) in ${(v.durationMs / 1000).toFixed(1)}s.\n`)
  }
}

function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
}

/** An ISO 8601 time (no zone means UTC) or `now`. */
export function parseTime(arg: string, what: string): Date {
  if (arg.trim().toLowerCase() === 'now') return new Date()
  const micros = parseDateTimeMicros(arg.trim())
  if (micros === undefined) throw new MorselError('MORSEL_USAGE', `${what} ${JSON.stringify(arg)} is not a time: give ISO 8601 such as 2024-01-15T00:00:00Z (no zone means UTC), or "now".`)
  return new Date(Math.floor(micros / 1000))
}
