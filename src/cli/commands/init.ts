import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { MorselError } from '../../errors/index.js'
import { localTemplate } from '../templates/local-template.js'

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('Create a feature repository from a working template')
    .argument('[dir]', 'the folder to create', 'my_project')
    .action((dir: string) => {
      const target = resolve(dir)
      if (existsSync(target) && readdirSync(target).length > 0) {
        throw new MorselError('MORSEL_USAGE', `${target} exists and is not empty; choose a new folder.`)
      }
      const project = basename(target).replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '') || 'my_project'
      const files = localTemplate(project, new Date())
      for (const [rel, content] of Object.entries(files)) {
        const path = join(target, rel)
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, content)
      }
      process.stdout.write(`Created feature repository ${target} (project '${project}').\nNext: npx morsel -c ${dir} apply\n`)
    })
}
