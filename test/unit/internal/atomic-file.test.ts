import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeAtomically } from '../../../src/internal/atomic-file.js'

describe('writeAtomically', () => {
  it('replaces the file only after the write succeeded, running beforeRename while the old file is still in place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'morsel-atomic-'))
    const path = join(dir, 'doc.json')
    writeFileSync(path, 'old')
    const seen: string[] = []
    const result = await writeAtomically(
      path,
      async (tmp) => {
        await writeFile(tmp, 'new')
        return 42
      },
      { beforeRename: async () => void seen.push(readFileSync(path, 'utf8')) },
    )
    expect(result).toBe(42)
    expect(seen).toEqual(['old'])
    expect(readFileSync(path, 'utf8')).toBe('new')
    expect(readdirSync(dir)).toEqual(['doc.json'])
  })

  it('leaves the file as it was and no temporary file behind when the write or beforeRename fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'morsel-atomic-'))
    const path = join(dir, 'doc.json')
    writeFileSync(path, 'old')
    const failing = async (tmp: string): Promise<void> => {
      await writeFile(tmp, 'half')
      throw new Error('disk full')
    }
    await expect(writeAtomically(path, failing)).rejects.toThrow('disk full')
    await expect(writeAtomically(path, (tmp) => writeFile(tmp, 'new'), { beforeRename: () => Promise.reject(new Error('no backup')) })).rejects.toThrow('no backup')
    expect(readFileSync(path, 'utf8')).toBe('old')
    expect(readdirSync(dir)).toEqual(['doc.json'])
  })
})
