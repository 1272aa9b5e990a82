import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Folders never searched for definitions. */
const ALWAYS_IGNORED = ['node_modules', 'dist', 'data']

/**
 * Which files of a repository are not definition files: `.morselignore` (one pattern a line,
 * `#` comments; `dir/` matches a folder, `*` and `**` globs, as in Feast's `.feastignore`), plus
 * dot-folders, node_modules, tests and declaration files.
 */
export function createIgnore(repoPath: string): (relativePath: string, isDir: boolean) => boolean {
  const file = join(repoPath, '.morselignore')
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
    : []
  const matchers = patterns.map(globToRegExp)
  return (rel, isDir) => {
    const base = rel.split('/').pop() ?? rel
    if (base.startsWith('.')) return true
    if (isDir && ALWAYS_IGNORED.includes(base)) return true
    if (!isDir && (/\.(test|spec)\.[cm]?ts$/.test(base) || base.endsWith('.d.ts'))) return true
    const candidate = isDir ? `${rel}/` : rel
    return matchers.some((m) => m.test(candidate) || m.test(rel))
  }
}

function globToRegExp(pattern: string): RegExp {
  const anchored = pattern.startsWith('/')
  let p = anchored ? pattern.slice(1) : pattern
  const dirOnly = p.endsWith('/')
  if (dirOnly) p = p.slice(0, -1)
  let re = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string
    if (c === '*') {
      if (p[i + 1] === '*') {
        re += '.*'
        i++
        if (p[i + 1] === '/') i++
      } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  const prefix = anchored || p.includes('/') ? '^' : '(^|.*/)'
  return new RegExp(`${prefix}${re}${dirOnly ? '/' : '(/.*)?$'}`)
}
