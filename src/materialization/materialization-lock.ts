import { constants as fsConstants } from 'node:fs'
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { MorselError } from '../errors/index.js'

export interface LockOptions {
  /** How long to wait for a running materialization to finish; 0 (default) fails at once with MORSEL_BUSY. */
  readonly waitMs?: number
  readonly signal?: AbortSignal
}

interface Owner {
  readonly pid: number
  readonly host: string
  readonly at: string
  readonly what: string
}

/**
 * Locks several views' materialization lock files, in name order (so that two waiting runs cannot
 * deadlock); on failure releases what it took. Returns the release of all of them.
 */
export async function acquireMaterializationLocks(locks: ReadonlyArray<{ readonly view: string; readonly path: string }>, what: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const releases: Array<() => Promise<void>> = []
  const releaseAll = async (): Promise<void> => {
    for (const r of releases.reverse()) await r()
  }
  try {
    for (const l of [...locks].sort((a, b) => (a.view < b.view ? -1 : a.view > b.view ? 1 : 0))) {
      releases.push(await acquireMaterializationLock(l.path, what, options, `Feature view '${l.view}'`))
    }
  } catch (err) {
    await releaseAll()
    throw err
  }
  return releaseAll
}

/**
 * One materialization of a view at a time, across processes: a lock file created exclusively
 * beside the registry. A lock whose process is gone (killed, crashed) on this host is taken over,
 * so a SIGKILL never blocks the next run.
 */
export async function acquireMaterializationLock(path: string, what: string, options: LockOptions = {}, subject = 'This project'): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.waitMs ?? 0)
  const owner: Owner = { pid: process.pid, host: hostname(), at: new Date().toISOString(), what }
  await mkdir(dirname(path), { recursive: true })
  let delay = 50
  for (;;) {
    try {
      const fh = await open(path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644)
      try {
        await fh.writeFile(JSON.stringify(owner))
        await fh.close()
      } catch (err) {
        // An empty lock (disk full) would refuse the next runs until it counts as abandoned.
        await fh.close().catch(() => undefined)
        await rm(path, { force: true }).catch(() => undefined)
        throw err
      }
      let released = false
      return async () => {
        if (released) return
        released = true
        await rm(path, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new MorselError('MORSEL_REGISTRY_IO', `Could not create the materialization lock ${path}: ${(err as Error).message}`, { cause: err })
      }
    }
    const holder = await readOwner(path)
    if (await isAbandoned(path, holder)) {
      await rm(path, { force: true })
      continue
    }
    if (Date.now() >= deadline || options.signal?.aborted === true) {
      const who = holder === undefined ? 'owner unknown' : `${holder.what}, process ${holder.pid} on ${holder.host} since ${holder.at}`
      throw new MorselError(
        'MORSEL_BUSY',
        `${subject} is being materialized by another run (${who}). Wait for it to finish and run again${options.waitMs ? '' : ', or let this one wait for it (`--wait SECONDS`)'}; if no morsel process is running, delete ${path}.`,
        { details: { lock: path, ...(holder && { pid: holder.pid, host: holder.host, since: holder.at }) } },
      )
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())))
    delay = Math.min(delay * 2, 1000)
  }
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as Partial<Owner>
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host, at: String(o.at), what: String(o.what) } : undefined
  } catch {
    return undefined
  }
}

async function isAbandoned(path: string, owner: Owner | undefined): Promise<boolean> {
  if (owner !== undefined && owner.host === hostname()) {
    if (owner.pid === process.pid) return false
    try {
      process.kill(owner.pid, 0)
      return false
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH'
    }
  }
  // An unreadable lock (its writer died between create and write) or another host's: judged by age.
  try {
    const s = await stat(path)
    return owner === undefined ? Date.now() - s.mtimeMs > 10_000 : Date.now() - s.mtimeMs > 24 * 3600_000
  } catch {
    return true
  }
}
