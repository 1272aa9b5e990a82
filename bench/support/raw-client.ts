import { createClient, createCluster, RESP_TYPES, type RedisArgument } from 'redis'

/**
 * The baseline of every read: the fastest way found to issue the same Redis commands from Node
 * with node-redis 6 (measured faster than ioredis on this machine, docs in the performance
 * anchors §5.4), replies left as the Buffers the client parsed, nothing decoded.
 */
export interface RawReader {
  readonly name: string
  /** Sends the commands of one request as one pipeline and waits for every reply. */
  read(commands: readonly RedisArgument[][]): Promise<unknown>
  close(): Promise<void>
}

/** Binary-safe replies, maps as flat arrays: what Morsel asks of node-redis too. */
const TYPE_MAPPING = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Array } as const

export type RawVariant = 'sendCommand' | 'execAsPipeline'

/**
 * node-redis on one connection. `sendCommand`: each command's promise, all issued in one tick,
 * which node-redis writes as one pipeline; `execAsPipeline`: the client's own pipeline object.
 */
export async function connectRawStandalone(url: string, variant: RawVariant): Promise<RawReader> {
  const client = createClient({ url, RESP: 3, commandOptions: { timeout: 0 } }).withTypeMapping(TYPE_MAPPING)
  await client.connect()
  const read =
    variant === 'sendCommand'
      ? (commands: readonly RedisArgument[][]): Promise<unknown> => {
          if (commands.length === 1) return client.sendCommand(commands[0]!)
          const pending = new Array<Promise<unknown>>(commands.length)
          for (let i = 0; i < commands.length; i++) pending[i] = client.sendCommand(commands[i]!)
          return Promise.all(pending)
        }
      : (commands: readonly RedisArgument[][]): Promise<unknown> => {
          const multi = client.multi()
          for (const c of commands) multi.addCommand(c)
          return multi.execAsPipeline()
        }
  return { name: `node-redis ${variant}`, read, close: async () => void (await client.close()) }
}

/** node-redis's cluster client: each command routed by its key, one pipeline per master. */
export async function connectRawCluster(seeds: readonly string[]): Promise<RawReader> {
  const cluster = createCluster({
    rootNodes: seeds.map((s) => ({ url: `redis://${s}` })),
    RESP: 3,
    commandOptions: { timeout: 0 },
  })
  await cluster.connect()
  const options = { typeMapping: TYPE_MAPPING, timeout: 0 }
  return {
    name: 'node-redis cluster sendCommand',
    read: (commands) => {
      const pending = new Array<Promise<unknown>>(commands.length)
      for (let i = 0; i < commands.length; i++) {
        const command = commands[i]!
        pending[i] = cluster.sendCommand(command[1], true, command, options)
      }
      return Promise.all(pending)
    },
    close: async () => void (await cluster.close()),
  }
}

/** Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`. */
export async function commandCalls(url: string): Promise<Map<string, number>> {
  const client = createClient({ url })
  await client.connect()
  try {
    const info = await client.info('commandstats')
    const out = new Map<string, number>()
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]))
    return out
  } finally {
    await client.close()
  }
}

export async function resetStats(url: string): Promise<void> {
  const client = createClient({ url })
  await client.connect()
  try {
    await client.configResetStat()
  } finally {
    await client.close()
  }
}
