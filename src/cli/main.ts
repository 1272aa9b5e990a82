import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { ERROR_CODES } from '../errors/codes.js'
import { MorselError, isMorselError } from '../errors/index.js'
import { registerInitCommand } from './commands/init.js'
import { registerOfflineCommands } from './commands/offline-commands.js'
import { registerOnlineCommands } from './commands/online-commands.js'
import { registerRegistryCommands } from './commands/registry-commands.js'
import { registerServeCommand } from './commands/serve.js'

/** Exit codes: 0 success, 1 failure, 2 bad usage or input, 3 bad configuration or definitions, 4 registry conflict or lock, 5 store unavailable. */
export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  const program = new Command('morsel')
    .description('Morsel: a Feast-compatible feature store for Node.js')
    .version(pkg.version)
    .option('-c, --chdir <repo>', 'the feature repository (default: the working directory)')
    .option('-f, --feature-store-yaml <path>', 'a feature_store.yaml other than <repo>/feature_store.yaml')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  registerInitCommand(program)
  registerRegistryCommands(program)
  registerOnlineCommands(program)
  registerOfflineCommands(program)
  registerServeCommand(program)
  finishCommands(program.commands)
  return program
}

/**
 * Every command that opens a repository also takes `-c/--chdir` after its name
 * (`morsel apply -c repo` as well as `morsel -c repo apply`), and exits through the catalogue.
 */
function finishCommands(commands: readonly Command[]): void {
  for (const c of commands) {
    c.exitOverride()
    if (c.commands.length > 0) finishCommands(c.commands)
    else if (c.name() !== 'init' && !c.options.some((o) => o.long === '--chdir')) {
      c.option('-c, --chdir <repo>', 'the feature repository (default: the working directory)')
    }
  }
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync([...argv])
    // A command that finished its work but has something to report sets the exit code itself.
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    return reportError(err)
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version requests end through this path too, with exit code 0.
    return err.exitCode === 0 ? 0 : ERROR_CODES.MORSEL_USAGE.exit
  }
  if (isMorselError(err)) {
    process.stderr.write(`Error [${err.code}]: ${err.message}\n`)
    return err.exitCode
  }
  const e = err instanceof Error ? err : new Error(String(err))
  process.stderr.write(`Error [MORSEL_INTERNAL]: ${e.message}\n${process.env.MORSEL_DEBUG ? `${e.stack ?? ''}\n` : ''}`)
  return new MorselError('MORSEL_INTERNAL', e.message).exitCode
}
