import { randomUUID } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Who holds a lock file, as written into it. */
export interface LockOwner {
  readonly pid: number
  readonly host: string
  readonly at: string
  /** What the holder is doing, for messages. */
  readonly what: string
  /** Unique per acquisition, so a release never removes a lock someone else took over. */
  readonly token: string
}

export interface LockFileOptions {
  /** What the caller is doing, written into the lock for others' messages. */
  readonly what: string
  /** How long to wait for a live holder; 0 gives up at once. */
  readonly waitMs: number
  /** Age after which a lock whose holder cannot be checked (another host) counts as abandoned. */
  readonly staleMs: number
  /** Age after which an unreadable lock (its writer died between create and write) counts as abandoned. */
  readonly unreadableStaleMs?: number
  readonly signal?: AbortSignal
  /** The error to throw when the wait is over; gets the holder when it could be read. */
  readonly busy: (holder: LockOwner | undefined) => Error
  /** The error to throw when the lock file cannot be created at all (permissions, full disk). */
  readonly ioError: (err: unknown) => Error
}

/**
 * An exclusive lock across processes: a file created with O_EXCL holding its owner. A lock whose
 * owner process on this host is gone (killed, crashed) is taken over at once; others' locks only
 * when very old. Takeover renames the abandoned file away first, which only one contender can do,
 * so two processes never both take over; release removes the file only while it is still ours.
 */
export async function acquireLockFile(path: string, options: LockFileOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.waitMs
  const owner: LockOwner = { pid: process.pid, host: hostname(), at: new Date().toISOString(), what: options.what, token: randomUUID() }
  try {
    await mkdir(dirname(path), { recursive: true })
  } catch (err) {
    throw options.ioError(err)
  }
  let delay = 10
  for (;;) {
    if (await tryCreate(path, owner, options)) {
      let released = false
      return async () => {
        if (released) return
        released = true
        if ((await readOwner(path))?.token === owner.token) await rm(path, { force: true })
      }
    }
    const holder = await readOwner(path)
    if (await isAbandoned(path, holder, options)) {
      await takeOver(path, holder)
      continue
    }
    if (Date.now() >= deadline || options.signal?.aborted === true) throw options.busy(holder)
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())))
    delay = Math.min(delay * 2, 500)
  }
}

async function tryCreate(path: string, owner: LockOwner, options: LockFileOptions): Promise<boolean> {
  let fh
  try {
    fh = await open(path, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o644)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw options.ioError(err)
  }
  try {
    await fh.writeFile(JSON.stringify(owner))
    await fh.close()
    return true
  } catch (err) {
    // A lock left empty (a full disk) would hold everyone off until it counted as abandoned.
    await fh.close().catch(() => undefined)
    await rm(path, { force: true }).catch(() => undefined)
    throw options.ioError(err)
  }
}

/** Moves an abandoned lock aside; if someone else moved or replaced it first, leaves theirs alone. */
async function takeOver(path: string, judged: LockOwner | undefined): Promise<void> {
  const aside = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.abandoned`
  try {
    await rename(path, aside)
  } catch {
    return
  }
  const moved = await readOwner(aside)
  if (moved !== undefined && moved.token !== judged?.token) {
    // Between our check and the rename another process took the lock over and wrote its own: put it back.
    await rename(aside, path).catch(() => undefined)
    return
  }
  await rm(aside, { force: true })
}

export async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>
    if (typeof o.pid !== 'number' || typeof o.host !== 'string') return undefined
    return { pid: o.pid, host: o.host, at: String(o.at), what: String(o.what ?? ''), token: String(o.token ?? '') }
  } catch {
    return undefined
  }
}

async function isAbandoned(path: string, owner: LockOwner | undefined, options: LockFileOptions): Promise<boolean> {
  if (owner !== undefined && owner.host === hostname()) {
    if (owner.pid === process.pid) return false
    try {
      process.kill(owner.pid, 0)
      return false
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH'
    }
  }
  try {
    const age = Date.now() - (await stat(path)).mtimeMs
    return age > (owner === undefined ? (options.unreadableStaleMs ?? 10_000) : options.staleMs)
  } catch {
    // Gone already: the next create will tell.
    return false
  }
}

/** A short description of a holder for messages. */
export function describeOwner(holder: LockOwner | undefined): string {
  return holder === undefined ? 'owner unknown' : `${holder.what ? `${holder.what}, ` : ''}process ${holder.pid} on ${holder.host} since ${holder.at}`
}
