import { MorselError } from '../errors/index.js'
import { acquireLockFile, describeOwner } from '../internal/lock-file.js'

export interface LockOptions {
  /** How long to wait for a running materialization to finish; 0 (default) fails at once with MORSEL_BUSY. */
  readonly waitMs?: number
  readonly signal?: AbortSignal
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
 * One materialization of a view at a time, across processes: a lock file beside the registry. A
 * lock whose process is gone (killed, crashed) on this host is taken over, so a SIGKILL never
 * blocks the next run.
 */
export async function acquireMaterializationLock(path: string, what: string, options: LockOptions = {}, subject = 'This view'): Promise<() => Promise<void>> {
  return acquireLockFile(path, {
    what,
    waitMs: options.waitMs ?? 0,
    staleMs: 24 * 3600_000,
    ...(options.signal !== undefined && { signal: options.signal }),
    ioError: (err) => new MorselError('MORSEL_REGISTRY_IO', `Could not create the materialization lock ${path}: ${(err as Error).message}`, { cause: err }),
    busy: (holder) =>
      new MorselError(
        'MORSEL_BUSY',
        `${subject} is being materialized by another run (${describeOwner(holder)}). Wait for it to finish and run again${options.waitMs ? '' : ', or let this one wait for it (`--wait SECONDS`)'}; if no morsel process is running, delete ${path}.`,
        { details: { lock: path, ...(holder && { pid: holder.pid, host: holder.host, since: holder.at }) } },
      ),
  })
}
