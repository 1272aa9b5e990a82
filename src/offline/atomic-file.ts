import { randomUUID } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { MorselError, isMorselError } from '../errors/index.js'

/**
 * Writes a file through a temporary file beside it, renamed over the target only once `write`
 * succeeded and the data is on disk: readers see the old file or the new one, never half of one.
 */
export async function writeAtomically<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const target = resolve(path)
  const dir = dirname(target)
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`)
  try {
    await mkdir(dir, { recursive: true })
    const result = await write(tmp)
    const fh = await open(tmp, 'r+')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, target)
    await syncDir(dir)
    return result
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined)
    if (isMorselError(err)) throw err
    throw new MorselError('MORSEL_STORE_ERROR', `Could not write ${target}: ${(err as Error).message}`, { cause: err })
  }
}

async function syncDir(path: string): Promise<void> {
  // Directories cannot be opened for sync on every filesystem; losing only the rename's durability there is acceptable.
  try {
    const fh = await open(path, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    return
  }
}
