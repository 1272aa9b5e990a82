import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** Creates a throwaway feature repository with the given files (path → content) and returns its path. */
export function makeRepo(files: Readonly<Record<string, string>>, prefix = 'morsel-repo-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, content)
  }
  return dir
}

/** A CSV text from a header and rows; values are written as given (no quoting needed in tests). */
export function csv(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return `${[header.join(','), ...rows.map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v as string | number | boolean | bigint))).join(','))].join('\n')}\n`
}

export const uniqueProject = (prefix = 'p'): string => `${prefix}_${Math.random().toString(36).slice(2, 10)}`
