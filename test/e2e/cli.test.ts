import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeRepo } from '../support/temp-repo.js'

const BIN = resolve('bin/morsel.js')

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

function morsel(args: readonly string[], cwd: string): Promise<Run> {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests.')
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

// Each case runs the CLI a dozen times as separate processes; on a loaded 2-core machine that
// takes far longer than vitest's default per-test limit.
describe('morsel CLI', { timeout: 180_000 }, () => {
  it('runs the init template end to end: apply, write, read, list, dump, teardown', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'morsel-cli-'))
    const init = await morsel(['init', 'demo'], cwd)
    expect(init.code).toBe(0)
    expect(init.stdout).toContain("project 'demo'")

    const plan = await morsel(['-c', 'demo', 'plan'], cwd)
    expect(plan.stdout).toContain('+ feature view driver_hourly_stats')

    const apply = await morsel(['-c', 'demo', 'apply'], cwd)
    expect(apply.code).toBe(0)
    expect(apply.stdout).toContain('Registered entity driver')
    expect(apply.stdout).toContain('Registered feature view driver_hourly_stats')
    expect(apply.stdout).toContain('Registered feature service driver_activity_v1')
    expect((await morsel(['-c', 'demo', 'apply'], cwd)).stdout).toContain('No changes')

    const write = await morsel(['-c', 'demo', 'write-to-online-store', 'driver_hourly_stats', 'demo/data/driver_stats.csv'], cwd)
    expect(write.code).toBe(0)
    expect(write.stdout).toMatch(/Wrote 365 rows to feature view driver_hourly_stats/)

    const read = await morsel(
      ['-c', 'demo', 'get-online-features', '-f', 'driver_hourly_stats:conv_rate,transformed_conv_rate:conv_rate_plus_val1', '-e', 'driver_id=1001', '-e', 'driver_id=4242', '-e', 'val_to_add=10', '-e', 'val_to_add=10', '-e', 'val_to_add_2=20', '-e', 'val_to_add_2=20'],
      cwd,
    )
    expect(read.code, read.stderr).toBe(0)
    const json = JSON.parse(read.stdout)
    expect(json.metadata.feature_names).toEqual(['driver_id', 'val_to_add', 'val_to_add_2', 'conv_rate', 'conv_rate_plus_val1'])
    const conv = json.results[3]
    expect(conv.statuses).toEqual(['PRESENT', 'NOT_FOUND'])
    const csvLast = readFileSync(join(cwd, 'demo/data/driver_stats.csv'), 'utf8').trim().split('\n').filter((l) => l.includes(',1001,')).pop()!.split(',')
    expect(conv.values[0]).toBeCloseTo(Number(csvLast[2]), 6)
    expect(conv.event_timestamps[0]).toBe(csvLast[0]!.replace('.000Z', 'Z'))
    expect(json.results[4].values[0]).toBeCloseTo(Number(csvLast[2]) + 10, 6)

    const service = await morsel(['-c', 'demo', 'get-online-features', '--feature-service', 'driver_activity_v1', '-e', 'driver_id=1001', '-e', 'val_to_add=1', '-e', 'val_to_add_2=2'], cwd)
    expect(JSON.parse(service.stdout).metadata.feature_names).toEqual([
      'driver_id', 'val_to_add', 'val_to_add_2', 'conv_rate', 'acc_rate', 'conv_rate_plus_val1', 'conv_rate_plus_val2',
    ])

    const list = await morsel(['-c', 'demo', 'feature-views', 'list'], cwd)
    expect(list.stdout).toMatch(/driver_hourly_stats\s+driver\s+1d\s+3/)
    const entities = JSON.parse((await morsel(['-c', 'demo', 'entities', 'list', '--json'], cwd)).stdout)
    expect(entities.map((e: { name: string }) => e.name)).toEqual(['driver'])
    const dump = JSON.parse((await morsel(['-c', 'demo', 'registry-dump'], cwd)).stdout)
    expect(Object.keys(dump.featureViews)).toEqual(['driver_hourly_stats'])
    expect(dump.onDemandFeatureViews.transformed_conv_rate.spec.udfSource).toContain('conv_rate_plus_val1')

    const teardown = await morsel(['-c', 'demo', 'teardown'], cwd)
    expect(teardown.code).toBe(0)
    expect(teardown.stdout).toContain('Removed online data of feature view driver_hourly_stats')
    const after = await morsel(['-c', 'demo', 'get-online-features', '-f', 'driver_hourly_stats:conv_rate', '-e', 'driver_id=1001'], cwd)
    expect(after.code).toBe(2)
    expect(after.stderr).toMatch(/Error \[MORSEL_FEATURE_NOT_FOUND\]: Feature view 'driver_hourly_stats' is not registered.*morsel apply/)
  })

  it('exits with the catalogue codes: usage 2, configuration 3', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'morsel-cli-'))
    const noRepo = await morsel(['apply'], cwd)
    expect(noRepo.code).toBe(3)
    expect(noRepo.stderr).toMatch(/MORSEL_CONFIG_INVALID.*No feature_store\.yaml.*morsel init/)
    const badFlag = await morsel(['apply', '--bogus'], cwd)
    expect(badFlag.code).toBe(2)
    expect(badFlag.stderr).toMatch(/unknown option '--bogus'/)
    const noFeatures = await morsel(['get-online-features', '-e', 'x=1'], cwd)
    expect(noFeatures.code).toBe(2)
    const help = await morsel(['materialize-incremental', '--help'], cwd)
    expect([0, 2]).toContain(help.code)
    const topHelp = await morsel(['--help'], cwd)
    expect(topHelp.code).toBe(0)
    expect(topHelp.stdout).toMatch(/get-online-features/)
  })

  it('with -f alone, takes the yaml\'s folder as the repository, not the working directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'morsel-cli-'))
    expect((await morsel(['init', 'demo'], cwd)).code).toBe(0)
    // A stray definition file in the working directory must not be loaded as the repository's.
    writeFileSync(join(cwd, 'stray.ts'), "throw new Error('the working directory was loaded as the repository')\n")
    const plan = await morsel(['-f', 'demo/feature_store.yaml', 'plan'], cwd)
    expect(plan.stderr).not.toContain('working directory was loaded')
    expect(plan.code).toBe(0)
    expect(plan.stdout).toContain('+ feature view driver_hourly_stats')
    expect((await morsel(['-f', 'demo/feature_store.yaml', 'apply'], cwd)).code).toBe(0)
    // The registry path in the yaml is relative to its folder.
    expect(existsSync(join(cwd, 'demo', 'data', 'registry.json'))).toBe(true)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  it('turns a concurrent apply into a conflict instead of losing it', async () => {
    const shared = join(mkdtempSync(join(tmpdir(), 'morsel-shared-')), 'registry.json')
    const defs = (name: string, delayMs: number) => `import { Entity, types } from 'morsel'
await new Promise((r) => setTimeout(r, ${delayMs}))
export const e = new Entity({ name: '${name}', valueType: types.Int64 })
`
    const yaml = `project: shared\nregistry: ${shared}\n`
    const slow = makeRepo({ 'feature_store.yaml': yaml, 'features.ts': defs('slow_entity', 5000) })
    const fast = makeRepo({ 'feature_store.yaml': yaml, 'features.ts': defs('fast_entity', 0) })
    // The slow apply reads the registry, then spends seconds loading definitions; the fast one
    // commits meanwhile, so the slow one's commit is made against a stale version.
    const slowRun = new Promise<Run>((done) => {
      const child = spawn(process.execPath, [BIN, '-c', slow, 'apply'])
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }))
    })
    await new Promise((r) => setTimeout(r, 1500))
    const fastRun = await morsel(['-c', fast, 'apply'], fast)
    expect(fastRun.code, fastRun.stderr).toBe(0)
    const slowResult = await slowRun
    expect(slowResult.code).toBe(4)
    expect(slowResult.stderr).toMatch(/MORSEL_REGISTRY_CONFLICT.*changed since this command read them.*apply again/)
    const doc = JSON.parse(readFileSync(shared, 'utf8'))
    expect(Object.keys(doc.projects.shared.entities)).toEqual(['fast_entity'])
    // Run again, it applies on top of the winner.
    writeFileSync(join(slow, 'features.ts'), defs('slow_entity', 0))
    const retry = await morsel(['-c', slow, 'apply'], slow)
    expect(retry.stdout).toContain('Deleted entity fast_entity')
    expect(retry.stdout).toContain('Registered entity slow_entity')
  })
})
