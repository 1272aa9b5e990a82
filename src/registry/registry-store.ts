import type { RegistryDocument } from './registry-document.js'

/**
 * Where the registry document lives. The store only loads and saves whole documents; the core's
 * `Registry` adds caching, lookups and plans. A backend must make `save` atomic (a reader sees the
 * old document or the new one, never a mix) and must refuse a save whose `expectedVersion` is not
 * the stored version, so that two writers never silently overwrite each other.
 */
export interface RegistryStore {
  readonly kind: string
  /** Where it is, for messages. */
  readonly location: string

  /** The stored document, or null when nothing was ever saved. */
  load(): Promise<RegistryDocument | null>

  /**
   * Saves `document` (whose `version` must be `expectedVersion + 1`) if the stored version is still
   * `expectedVersion` (0 when none is stored). Throws MORSEL_REGISTRY_CONFLICT otherwise.
   */
  save(document: RegistryDocument, expectedVersion: number): Promise<void>

  /** Removes the stored document. */
  delete(): Promise<void>
}
