/**
 * The credit-scoring quickstart (`npm start`): from nothing to a loan decision served from the
 * online store. Every step is skipped when its output is already there, so a second run only
 * materializes what is new and decides the loan again.
 *
 *   1. data: generate the loan, ZIP code and credit-history tables (or import the tutorial's files)
 *   2. apply: register features.ts
 *   3. train: a point-in-time training set from the offline store, then gradient-boosted trees
 *   4. materialize-incremental: the latest feature values into the online store
 *   5. decide the tutorial's loan request with features read online
 *   then serve: the feature server with the loan application page and the console, until Ctrl+C
 *   (`--no-serve` stops after the decision)
 *
 * Usage: npm start -- [--repo DIR] [--from DIR] [--seed N] [--port N] [--no-serve], which runs `jiti quickstart.ts`. (Not
 * `node --import jiti/register`: on Node 20 its module hooks make the later `import('redis')` of
 * the Redis online store fail with ERR_VM_MODULE_LINK_FAILURE.)
 */
import { existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { FeatureStore, isMorselError, type ApplyResult } from 'morsel'
import { CreditModel, MODEL_FILE } from './credit-model.js'
import { CREDIT_TABLES, readManifest, tablesPresent, type DataManifest } from './credit-tables.js'
import { GENERATOR_VERSION, generateCreditData } from './generate-data.js'
import { importCreditData } from './import-data.js'
import { TUTORIAL_APPLICATION, decideLoan, type LoanApplication, type LoanDecision } from './score.js'
import { serveExample } from './serve-example.js'
import { fitCreditModel, loadTrainingSet } from './train.js'

export interface QuickstartOptions {
  /** The feature repository. Default: the example's folder. */
  readonly repoPath?: string
  /** Import the tutorial's tables from this folder instead of generating data. */
  readonly from?: string
  /** Seed of the data generator. Default 42. */
  readonly seed?: number
  readonly application?: LoanApplication
  readonly log?: (line: string) => void
}

export interface QuickstartSummary {
  readonly data: DataManifest
  readonly model: CreditModel
  readonly decision: LoanDecision
  readonly totalMs: number
}

/** Generated credit snapshots this old no longer reach back into the 90-day ttl well: regenerate them. */
const STALE_AFTER_DAYS = 30

const EXAMPLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export async function runQuickstart(options: QuickstartOptions = {}): Promise<QuickstartSummary> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`))
  const repo = resolve(options.repoPath ?? EXAMPLE_DIR)
  const dataDir = join(repo, 'data')
  const t0 = performance.now()
  const shown = relative(process.cwd(), repo)
  log(`Credit-scoring quickstart in ${shown === '' ? '.' : shown.startsWith('..') ? repo : shown}`)

  // 1. Data
  let t = performance.now()
  const { manifest, action } = await ensureData(dataDir, options)
  const rows = manifest.rows
  const what = `${fmt(rows.loans)} loans, ${fmt(rows.zipcodes)} ZIP codes, ${fmt(rows.creditHistory)} credit-history snapshots`
  const origin = manifest.origin === 'generated' ? `seed ${manifest.seed}, as of ${manifest.asOf}` : `from ${manifest.importedFrom}`
  log(`[1/5] Data: ${action} ${what} (${origin}) ${took(t)}`)

  const store = await FeatureStore.open(repo)
  try {
    // 2. Apply
    t = performance.now()
    if (action !== 'found') {
      // New tables under an old registry: what was materialized, and when, describes data that is
      // gone, and incremental runs would skip new rows dated before the last run. Start over.
      const { views } = await store.teardown()
      if (views.length > 0) log(`      The tables changed: removed the project's registered objects and online data first`)
    }
    log(`[2/5] Apply: ${describeApply(await store.apply())} ${took(t)}`)

    // 3. Train
    t = performance.now()
    const modelPath = join(repo, MODEL_FILE)
    let model: CreditModel | undefined
    let reason: string | undefined
    if (existsSync(modelPath)) {
      try {
        model = CreditModel.load(modelPath)
        if (!model.matchesDefinitions()) reason = 'its inputs differ from the definitions'
        else if (!sameDataset(model.training.data, manifest)) reason = 'it was trained on other data'
      } catch (err) {
        reason = (err as Error).message
      }
    }
    if (model !== undefined && reason === undefined) {
      log(`[3/5] Model: found ${MODEL_FILE} (held-out AUC ${model.training.holdout.auc.toFixed(3)}, trained ${model.training.trainedAt.slice(0, 10)})`)
    } else {
      if (reason !== undefined) log(`[3/5] Model: ${MODEL_FILE} cannot be used (${reason}); training a new one`)
      const prefix = reason === undefined ? '[3/5]' : '     '
      const set = await loadTrainingSet({ store, loanTable: join(dataDir, CREDIT_TABLES.loans.file) })
      const covered = set.rows.filter((r) => r.credit_card_due !== null).length / set.rows.length
      log(
        `${prefix} Training set: ${fmt(set.rows.length)} loans with their features as of each loan's date ` +
          `(a credit-history snapshot within its 90-day ttl for ${(covered * 100).toFixed(1)}% of loans) ${took(t)}`,
      )
      t = performance.now()
      model = fitCreditModel(set, { data: { ...manifest } })
      model.save(modelPath)
      const tr = model.training
      log(
        `      Model: ${model.gbdt.trees.length} trees on ${model.encoder.columns.length} inputs; held out the latest ${fmt(tr.holdoutRows)} loans: ` +
          `AUC ${tr.holdout.auc.toFixed(3)}, accuracy ${tr.holdout.accuracy.toFixed(3)} ` +
          `(training AUC ${tr.train.auc.toFixed(3)}); saved to ${MODEL_FILE} ${took(t)}`,
      )
    }

    // 4. Materialize
    t = performance.now()
    const materialized = await store.materializeIncremental({ end: new Date() })
    const online = store.config.onlineStore.type
    const parts = materialized.views.map((v) => `${v.view} ${fmt(v.rows)} rows (${fmt(v.written)} written) from ${day(v.start)} to ${day(v.end)}`)
    log(`[4/5] Materialize into ${online}: ${parts.join('; ')} ${took(t)}`)

    // 5. Decide
    const application = options.application ?? TUTORIAL_APPLICATION
    const decision = await decideLoan(store, model, application)
    log(`[5/5] Loan request ${JSON.stringify(application)}`)
    log(`      Feature vector (online read ${decision.readMs.toFixed(1)} ms):`)
    const width = Math.max(...decision.vector.map((v) => v.name.length))
    for (const v of decision.vector) {
      const when = v.eventTime === null ? '' : `  ${v.eventTime.toISOString().slice(0, 10)}`
      log(`        ${v.name.padEnd(width)}  ${show(v.value).padEnd(14)}  ${v.status}${when}`)
    }
    log(`      Default probability ${decision.probability.toFixed(3)} (rejected at ${model.threshold.toFixed(2)} or more)`)
    const totalMs = performance.now() - t0
    log(`Done in ${(totalMs / 1000).toFixed(1)} s.`)
    log(decision.approved ? 'Loan approved!' : 'Loan rejected!')
    return { data: manifest, model, decision, totalMs }
  } finally {
    await store.close()
  }
}

async function ensureData(dataDir: string, options: QuickstartOptions): Promise<{ manifest: DataManifest; action: string }> {
  const found = readManifest(dataDir)
  const present = tablesPresent(dataDir)
  if (options.from !== undefined) {
    if (present && found?.origin === 'imported' && found.importedFrom === resolve(options.from)) return { manifest: found, action: 'found' }
    return { manifest: await importCreditData(options.from, dataDir), action: 'imported' }
  }
  const seed = options.seed ?? 42
  const fresh =
    present &&
    found?.origin === 'generated' &&
    found.seed === seed &&
    found.generatorVersion === GENERATOR_VERSION &&
    found.asOf !== undefined &&
    Date.now() - Date.parse(found.asOf) < STALE_AFTER_DAYS * 86_400_000
  if (fresh) return { manifest: found, action: 'found' }
  const { manifest } = await generateCreditData({ dataDir, seed })
  return { manifest, action: present ? 'regenerated' : 'generated' }
}

/** The same tables, whatever day the generated snapshots were dated to. */
function sameDataset(a: Readonly<Record<string, unknown>>, b: DataManifest): boolean {
  return a.origin === b.origin && a.seed === b.seed && a.generatorVersion === b.generatorVersion && a.importedFrom === b.importedFrom
}

const PLURAL: Readonly<Record<string, string>> = {
  entity: 'entities',
  'data source': 'data sources',
  'feature view': 'feature views',
  'on demand feature view': 'on-demand feature views',
  'feature service': 'feature services',
}

function describeApply(result: ApplyResult): string {
  const parts: string[] = []
  for (const action of ['register', 'update', 'delete'] as const) {
    const counts = new Map<string, number>()
    for (const item of result.plan.items) if (item.action === action) counts.set(item.kind, (counts.get(item.kind) ?? 0) + 1)
    if (counts.size === 0) continue
    const list = [...counts].map(([kind, n]) => `${n} ${n === 1 ? kind.replace('on demand', 'on-demand') : (PLURAL[kind] ?? kind)}`)
    parts.push(`${action === 'register' ? 'registered' : action === 'update' ? 'updated' : 'deleted'} ${list.join(', ')}`)
  }
  return `${parts.length > 0 ? parts.join('; ') : 'no changes'} (project ${result.plan.project}, registry version ${result.version})`
}

function fmt(n: number): string {
  return n.toLocaleString('en-US')
}

function took(since: number): string {
  return `in ${((performance.now() - since) / 1000).toFixed(1)} s`
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10)
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e4) / 1e4)
  if (typeof v === 'string') return v
  if (typeof v === 'bigint' || typeof v === 'boolean') return v.toString()
  if (v instanceof Date) return v.toISOString()
  return JSON.stringify(v)
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      repo: { type: 'string' },
      from: { type: 'string' },
      seed: { type: 'string' },
      port: { type: 'string' },
      'no-serve': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help === true) {
    process.stdout.write(
      'Usage: npm start -- [--repo DIR] [--from DIR] [--seed N] [--port N] [--no-serve]\n' +
        '  --repo DIR  the feature repository (default: examples/credit-scoring)\n' +
        "  --from DIR  import the tutorial's loan_table, zipcode_table and credit_history files from DIR instead of generating data\n" +
        '  --seed N    seed of the data generator (default 42)\n' +
        '  --port N    port to serve the loan page, the console and the API on (default: `feature_server.port`, 6566; 0 picks a free one)\n' +
        '  --no-serve  stop after the decision instead of serving\n',
    )
    return 0
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed)
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0)) throw new Error(`--seed must be a non-negative integer, got '${values.seed}'.`)
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) throw new Error(`--port must be a port number from 0 to 65535, got '${values.port}'.`)
  await runQuickstart({
    ...(values.repo !== undefined && { repoPath: values.repo }),
    ...(values.from !== undefined && { from: values.from }),
    ...(seed !== undefined && { seed }),
  })
  if (values['no-serve'] === true) return 0
  const log = (line: string): void => void process.stdout.write(`${line}\n`)
  const server = await serveExample({ repoPath: resolve(values.repo ?? EXAMPLE_DIR), ...(port !== undefined && { port }), log })
  await server.closed
  log('Stopped.')
  return 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      const message = isMorselError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err)
      process.stderr.write(`quickstart failed: ${message}\n`)
      process.exitCode = 1
    },
  )
}
