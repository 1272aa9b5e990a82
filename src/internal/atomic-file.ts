import { randomUUID } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'

export interface WriteAtomicallyOptions {
  /** Runs once the new content is on disk, just before it replaces the file (the registry's backup). */
  readonly beforeRename?: () => Promise<void>
}

/**
 * Writes a file through a temporary file beside it, renamed over the target only once `write`
 * succeeded and the data is on disk: readers see the old file or the new one, never half of one.
 * Errors are the file system's (or `write`'s), for the caller to word for its own file; the
 * temporary file is removed on every failure.
 */
export async function writeAtomically<T>(path: string, write: (tmp: string) => Promise<T>, options: WriteAtomicallyOptions = {}): Promise<T> {
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
    await options.beforeRename?.()
    await rename(tmp, target)
    await syncDir(dir)
    return result
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined)
    throw err
  }
}

/** Makes a rename in `dir` durable; some file systems cannot open a directory, which only costs that durability. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    return
  }
}
