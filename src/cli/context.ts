import { dirname } from 'node:path'
import type { Command } from 'commander'
import { FeatureStore, type FeatureStoreOptions } from '../feature-store.js'

export interface GlobalOptions {
  readonly chdir?: string
  readonly featureStoreYaml?: string
}

/**
 * Where the repository and its config are, from the global `-c/--chdir` and `-f` options. `-f`
 * alone makes the yaml's folder the repository: its relative paths are relative to that folder,
 * and definitions are loaded from there, never from whatever the working directory holds.
 */
export function repoOptions(command: Command): FeatureStoreOptions {
  const g = command.optsWithGlobals<GlobalOptions>()
  const repoPath = g.chdir ?? (g.featureStoreYaml !== undefined ? dirname(g.featureStoreYaml) : undefined)
  return {
    ...(repoPath !== undefined && { repoPath }),
    ...(g.featureStoreYaml !== undefined && { configPath: g.featureStoreYaml }),
  }
}

/** Opens the repository named by the global `-c/--chdir` and `-f` options. */
export async function openStore(command: Command): Promise<FeatureStore> {
  return FeatureStore.open(repoOptions(command))
}

/** Runs `fn` with an open store and always closes it. */
export async function withStore<T>(command: Command, fn: (store: FeatureStore) => Promise<T>): Promise<T> {
  const store = await openStore(command)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}
