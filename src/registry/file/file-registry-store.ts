import { randomUUID } from 'node:crypto'
import { copyFile, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MorselError } from '../../errors/index.js'
import { writeAtomically } from '../../internal/atomic-file.js'
import { acquireLockFile, describeOwner } from '../../internal/lock-file.js'
import type { RegistryDocument } from '../registry-document.js'
import type { RegistryStore } from '../registry-store.js'

export interface FileRegistryStoreOptions {
  /** How long a writer waits for another writer's lock before giving up. */
  readonly lockTimeoutMs?: number
  /** A lock older than this whose owner cannot be checked is considered abandoned. */
  readonly staleLockMs?: number
}

/**
 * The registry as one JSON file. Writes go to a temporary file that is fsynced and renamed over
 * the old one, so readers never see half a document; writers serialise on a lock file and check
 * the stored version under it, so a concurrent apply turns into a conflict instead of a lost update.
 * The previous document is kept beside it as `<file>.bak`.
 */
export class FileRegistryStore implements RegistryStore {
  readonly kind = 'file'
  readonly location: string
  readonly #lockPath: string
  readonly #lockTimeoutMs: number
  readonly #staleLockMs: number

  constructor(path: string, options: FileRegistryStoreOptions = {}) {
    this.location = path
    this.#lockPath = `${path}.lock`
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 15_000
    this.#staleLockMs = options.staleLockMs ?? 120_000
  }

  async load(): Promise<RegistryDocument | null> {
    let text: string
    try {
      text = await readFile(this.location, 'utf8')
    } catch (err) {
      if (errno(err) === 'ENOENT') return null
      throw ioError(`read the registry ${this.location}`, err)
    }
    return parseDocument(text, this.location)
  }

  async save(document: RegistryDocument, expectedVersion: number): Promise<void> {
    if (document.version !== expectedVersion + 1) {
      throw new MorselError('MORSEL_INTERNAL', `registry save: version ${document.version} does not follow ${expectedVersion}`)
    }
    try {
      await mkdir(dirname(this.location), { recursive: true })
    } catch (err) {
      throw ioError(`create the registry folder ${dirname(this.location)}`, err)
    }
    const release = await this.#lock()
    try {
      const current = await this.load()
      const currentVersion = current?.version ?? 0
      if (currentVersion !== expectedVersion) {
        throw new MorselError(
          'MORSEL_REGISTRY_CONFLICT',
          `The registry ${this.location} changed while this command ran (it is now at version ${currentVersion}, this change was made against ${expectedVersion}); another apply or materialization committed first. Nothing was written: review with \`morsel plan\` and run the command again.`,
          { details: { expectedVersion, currentVersion } },
        )
      }
      await this.#writeAtomically(`${JSON.stringify(document, null, 1)}\n`, current !== null)
    } finally {
      await release()
    }
  }

  async delete(): Promise<void> {
    const release = await this.#lock()
    try {
      await rm(this.location, { force: true })
    } catch (err) {
      throw ioError(`delete the registry ${this.location}`, err)
    } finally {
      await release()
    }
  }

  async #writeAtomically(text: string, keepBackup: boolean): Promise<void> {
    try {
      await writeAtomically(this.location, (tmp) => writeFile(tmp, text, { encoding: 'utf8', flag: 'wx', mode: 0o644 }), {
        ...(keepBackup && { beforeRename: () => this.#backUp() }),
      })
    } catch (err) {
      throw ioError(`write the registry ${this.location}`, err)
    }
  }

  /**
   * Makes `<file>.bak` the current document, all or nothing: a hard link renamed into place (no
   * data copied, so a full disk cannot leave half a backup), or where links are not supported a
   * copy renamed into place. On failure the previous backup is left as it was.
   */
  async #backUp(): Promise<void> {
    const bak = `${this.location}.bak`
    const tmp = `${bak}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`
    try {
      try {
        await link(this.location, tmp)
      } catch (err) {
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS'].includes(errno(err) ?? '')) throw err
        await copyFile(this.location, tmp)
      }
      await rename(tmp, bak)
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined)
      throw err
    }
  }

  /** Takes the writer lock, waiting for another writer up to the lock timeout. */
  async #lock(): Promise<() => Promise<void>> {
    return acquireLockFile(this.#lockPath, {
      what: 'writing the registry',
      waitMs: this.#lockTimeoutMs,
      staleMs: this.#staleLockMs,
      ioError: (err) => ioError(`lock the registry ${this.location}`, err),
      busy: (holder) =>
        new MorselError(
          'MORSEL_REGISTRY_LOCKED',
          `Another process is writing the registry ${this.location} (lock ${this.#lockPath}: ${describeOwner(holder)}); waited ${this.#lockTimeoutMs} ms. Let it finish and retry; if no morsel process is running, delete the lock file.`,
        ),
    })
  }
}

export function parseDocument(text: string, location: string): RegistryDocument {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw corrupt(location, 'it is not valid JSON', err)
  }
  const d = doc as Partial<RegistryDocument> | null
  if (d === null || typeof d !== 'object' || d.formatVersion !== 1 || typeof d.version !== 'number' || typeof d.projects !== 'object' || d.projects === null) {
    throw corrupt(location, 'it is not a Morsel registry document (formatVersion 1)')
  }
  return d as RegistryDocument
}

function corrupt(location: string, why: string, cause?: unknown): MorselError {
  return new MorselError(
    'MORSEL_REGISTRY_CORRUPT',
    `The registry ${location} cannot be read: ${why}. Restore it from ${location}.bak, or delete it and run \`morsel apply\` again (materialization history is then lost).`,
    { cause },
  )
}

function ioError(action: string, err: unknown): MorselError {
  const code = errno(err)
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? ' The path is not writable: check its permissions, or point `registry.path` elsewhere.'
      : code === 'ENOSPC'
        ? ' The disk is full.'
        : ''
  return new MorselError('MORSEL_REGISTRY_IO', `Could not ${action}: ${(err as Error).message}.${hint}`, { cause: err })
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}
