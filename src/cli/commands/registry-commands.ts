import type { Command } from 'commander'
import { MorselError } from '../../errors/index.js'
import type { RepoPlan } from '../../registry/plan.js'
import { withStore } from '../context.js'
import { formatTtl, printJson, printTable } from '../output.js'

const SIGN = { register: '+', update: '~', delete: '-', unchanged: '=' } as const

export function printPlan(plan: RepoPlan, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`Plan for project '${plan.project}' against registry version ${plan.baseVersion}:\n`)
  const changed = plan.items.filter((i) => i.action !== 'unchanged')
  for (const i of changed) {
    out.write(`  ${SIGN[i.action]} ${i.kind} ${i.name}${i.changes.length ? `: ${i.changes.join('; ')}` : ''}\n`)
  }
  for (const v of plan.staleOnlineViews) out.write(`  ! online data of feature view ${v.name} will be removed\n`)
  const count = (a: string): number => plan.items.filter((i) => i.action === a).length
  out.write(`${count('register')} to register, ${count('update')} to update, ${count('delete')} to delete, ${count('unchanged')} unchanged.\n`)
}

export function registerRegistryCommands(program: Command): void {
  program
    .command('plan')
    .description('Show what `apply` would register, update and delete, changing nothing')
    .action(async (_opts, cmd: Command) => {
      await withStore(cmd, async (store) => printPlan(await store.plan()))
    })

  program
    .command('apply')
    .description('Validate the repository definitions and register them')
    .action(async (_opts, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const { plan, version, clearedOnlineViews, pendingOnlineViews, onlineCleanupError } = await store.apply()
        const verbs = { register: 'Registered', update: 'Updated', delete: 'Deleted' } as const
        let any = false
        for (const i of plan.items) {
          if (i.action === 'unchanged') continue
          any = true
          process.stdout.write(`${verbs[i.action]} ${i.kind} ${i.name}${i.changes.length ? ` (${i.changes.join('; ')})` : ''}\n`)
        }
        for (const v of clearedOnlineViews) process.stdout.write(`Removed online data of feature view ${v}\n`)
        process.stdout.write(any ? `Registry is at version ${version}.\n` : `No changes: the registry is up to date (version ${version}).\n`)
        if (pendingOnlineViews.length > 0) {
          // The registry is updated; only the clean-up is left, and it is recorded, so say so and
          // exit with the store's code rather than pretend all went well.
          const err = onlineCleanupError ?? new MorselError('MORSEL_STORE_ERROR', 'unknown failure')
          process.stderr.write(
            `Error [${err.code}]: the registry is updated, but the online data of feature views ${pendingOnlineViews.join(', ')} could not be removed (${err.message}). The removal is recorded: the next apply or teardown retries it.\n`,
          )
          process.exitCode = err.exitCode
        }
      })
    })

  program
    .command('teardown')
    .description("Delete the project's online data and remove it from the registry")
    .action(async (_opts, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const { views } = await store.teardown()
        for (const v of views) process.stdout.write(`Removed online data of feature view ${v}\n`)
        process.stdout.write(`Removed project '${store.project}' from the registry.\n`)
      })
    })

  program
    .command('registry-dump')
    .description('Print the registered definitions of the project as JSON')
    .action(async (_opts, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const snap = await store.registry.refresh()
        printJson({ project: store.project, registryVersion: snap.version, ...(snap.state ?? {}) })
      })
    })

  const list = (name: string, description: string, render: (json: boolean, store: Parameters<Parameters<typeof withStore>[1]>[0]) => Promise<void>): void => {
    program
      .command(name)
      .description(description)
      .command('list')
      .description(`List the registered ${name.replace(/-/g, ' ')}`)
      .option('--json', 'print JSON instead of a table')
      .action(async (opts: { json?: boolean }, cmd: Command) => {
        await withStore(cmd, (store) => render(opts.json === true, store))
      })
  }

  list('entities', 'Entities of the project', async (json, store) => {
    const items = [...(await store.registry.refresh()).entities.values()]
    if (json) return printJson(items)
    printTable(['NAME', 'JOIN KEY', 'TYPE', 'DESCRIPTION'], items.map((e) => [e.name, e.joinKey, e.dtype, e.description]))
  })
  list('feature-views', 'Feature views of the project', async (json, store) => {
    const items = [...(await store.registry.refresh()).featureViews.values()]
    if (json) return printJson(items)
    printTable(
      ['NAME', 'ENTITIES', 'TTL', 'FEATURES', 'SOURCE', 'ONLINE'],
      items.map((v) => [v.name, v.entities.join(','), formatTtl(v.ttlSeconds), String(v.features.length), v.source, String(v.online)]),
    )
  })
  list('on-demand-feature-views', 'On-demand feature views of the project', async (json, store) => {
    const items = [...(await store.registry.refresh()).onDemandFeatureViews.values()]
    if (json) return printJson(items)
    printTable(['NAME', 'SOURCES', 'FEATURES'], items.map((o) => [o.name, o.sources.map((s) => s.name).join(','), o.features.map((f) => f.name).join(',')]))
  })
  list('feature-services', 'Feature services of the project', async (json, store) => {
    const items = [...(await store.registry.refresh()).featureServices.values()]
    if (json) return printJson(items)
    printTable(
      ['NAME', 'FEATURES', 'DESCRIPTION'],
      items.map((s) => [s.name, s.projections.map((p) => `${p.view}(${p.features.length})`).join(','), s.description]),
    )
  })
  list('data-sources', 'Data sources of the project', async (json, store) => {
    const items = [...(await store.registry.refresh()).dataSources.values()]
    if (json) return printJson(items)
    printTable(
      ['NAME', 'KIND', 'PATH'],
      items.map((s) => [s.name, s.kind, s.kind === 'file' ? s.path : s.kind === 'push' ? s.batchSource.path : '']),
    )
  })
}
