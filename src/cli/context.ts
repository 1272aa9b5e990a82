import type { Command } from 'commander'
import { FeatureStore } from '../feature-store.js'

export interface GlobalOptions {
  readonly chdir?: string
  readonly featureStoreYaml?: string
}

/** Opens the repository named by the global `-c/--chdir` and `-f` options. */
export async function openStore(command: Command): Promise<FeatureStore> {
  const g = command.optsWithGlobals<GlobalOptions>()
  return FeatureStore.open({
    ...(g.chdir !== undefined && { repoPath: g.chdir }),
    ...(g.featureStoreYaml !== undefined && { configPath: g.featureStoreYaml }),
  })
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
