import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { acquireLockFile, readOwner, type LockFileOptions } from '../../../src/internal/lock-file.js'

const options = (over: Partial<LockFileOptions> = {}): LockFileOptions => ({
  what: 'testing',
  waitMs: 20_000,
  staleMs: 60_000,
  busy: (holder) => new Error(`busy: ${holder?.what ?? 'unknown'}`),
  ioError: (err) => err as Error,
  ...over,
})
const lockPath = (): string => join(mkdtempSync(join(tmpdir(), 'morsel-lock-')), 'x.lock')
const DEAD_PID = 2 ** 22 + 4321

describe('lock files', () => {
  it('lets one holder in at a time, even when many contenders find an abandoned lock', async () => {
    const path = lockPath()
    writeFileSync(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), at: 'then', what: 'crashed', token: 'old' }))
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const release = await acquireLockFile(path, options())
        inside++
        most = Math.max(most, inside)
        await sleep(5)
        inside--
        await release()
      }),
    )
    expect(most).toBe(1)
    expect(existsSync(path)).toBe(false)
  })

  it('does not remove a lock that is no longer its own', async () => {
    const path = lockPath()
    const release = await acquireLockFile(path, options())
    // Someone judged it abandoned and replaced it with their own.
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), at: 'now', what: 'other', token: 'theirs' }))
    await release()
    expect((await readOwner(path))?.token).toBe('theirs')
  })

  it('waits for a live holder, then reports it', async () => {
    const path = lockPath()
    const release = await acquireLockFile(path, options({ what: 'first' }))
    const err = await acquireLockFile(path, options({ waitMs: 100 })).catch((e: unknown) => e)
    expect((err as Error).message).toBe('busy: first')
    await release()
    const again = await acquireLockFile(path, options({ waitMs: 0 }))
    expect(JSON.parse(readFileSync(path, 'utf8')).what).toBe('testing')
    await again()
  })

  it('takes over an unreadable lock only once it is old enough', async () => {
    const path = lockPath()
    writeFileSync(path, '')
    const err = await acquireLockFile(path, options({ waitMs: 50, unreadableStaleMs: 60_000 })).catch((e: unknown) => e)
    expect((err as Error).message).toBe('busy: unknown')
    const release = await acquireLockFile(path, options({ waitMs: 2000, unreadableStaleMs: 0 }))
    await release()
  })
})
