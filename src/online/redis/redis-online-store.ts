import { ErrorReply, type RedisArgument } from 'redis'
import { encodeTimestamp } from '../../encoding/index.js'
import { MorselError } from '../../errors/index.js'
import type {
  EntityCells,
  OnlineReadGroup,
  OnlineReadResult,
  OnlineStore,
  OnlineStoreContext,
  OnlineStoreHealth,
  OnlineViewRef,
  OnlineWriteBatch,
  OnlineWriteResult,
  OperationOptions,
  PreparedRead,
} from '../online-store.js'
import { redisError } from './redis-errors.js'
import { FieldIndex } from './field-index.js'
import { featureFields, keySlot, RedisKeyLayout, timestampField } from './redis-key-layout.js'
import type { RedisOnlineStoreConfig } from './redis-online-store-config.js'
import { connectTransport, type RedisTransport } from './redis-transport.js'
import { TrackingCache, TrackingInvalidationSink } from './tracking-cache.js'
import { BYTES_PER_CALL, packedRowSize, ROWS_PER_CALL, WRITE_ROWS_LUA, WRITE_ROWS_SHA, writePackedRow } from './write-script.js'

export async function createRedisOnlineStore(config: RedisOnlineStoreConfig, ctx: OnlineStoreContext): Promise<RedisOnlineStore> {
  const cacheConfig = config.client_side_cache
  const cache = cacheConfig?.enabled === true ? new TrackingCache(cacheConfig.max_entries, cacheConfig.ttl_seconds) : undefined
  const transport = await connectTransport({
    config,
    ctx,
    ...(cache !== undefined && { invalidationSink: new TrackingInvalidationSink(cache) }),
  })
  return new RedisOnlineStore(transport, config, ctx, cache)
}

/**
 * How an entity is read: naming its fields (HMGET) or taking the whole hash (HGETALL). Redis finds
 * each HMGET field by scanning the hash's listpack, and the client pays for every field name it
 * sends, so when a read wants most of the hash, HGETALL is cheaper on both sides (2–4× in
 * docs/online-stores/redis.md, "Reads"); when it wants a small part of a wide hash, HMGET is. The
 * hash's width is not known when a read is compiled (other views share it), so each compiled read
 * learns it: it starts with HGETALL, measures which share of the returned bytes it kept, and keeps
 * HGETALL while that share is at least half; otherwise it uses HMGET and, every PROBE_EVERY reads,
 * takes one entity's whole hash to look again, since views may be added to the hash.
 */
const KEEP_HGETALL_AT = 0.5
/** Keys SCAN examines per call when deleting: large, so a big keyspace takes few round trips. */
const SCAN_COUNT = 5000
const PROBE_EVERY = 128

interface ReadMode {
  hgetall: boolean
  /** Moving average of the share of an HGETALL reply's bytes the read kept; -1 before any. */
  kept: number
  reads: number
}

/** The compiled read of one group of views: its HMGET template, or how to sort an HGETALL. */
interface ReadShape {
  /** Unique per compiled group: the client-side cache keys entries by it. */
  readonly id: number
  /** `['HMGET', <key>, …fields]`, fields in cell order; slot 1 is replaced per entity. */
  readonly template: readonly RedisArgument[]
  readonly mode: ReadMode
  readonly cellCount: number
  readonly featureCells: number
  /** For HGETALL replies: feature fields and `_ts:<view>` fields → cell. */
  readonly fieldIndex: FieldIndex
}

interface RedisPrepared extends PreparedRead {
  readonly shapes: readonly ReadShape[]
}

let nextShapeId = 1

/**
 * The online store on Redis, in Feast's byte layout: standalone, Redis Cluster or Sentinel-managed.
 *
 * Reads: every entity of every group is one HMGET (or HGETALL) of its hash, and all of them go out
 * together: one round trip on standalone Redis, one pipeline per node in parallel on a cluster.
 * Writes: script calls of several rows, pipelined, each row written only when it is newer than the
 * stored event time of its view, decided atomically in Redis. Every operation has a deadline; while
 * Redis is unreachable operations wait for the connection at most that long, and the connection is
 * retried in the background.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = 'redis'
  readonly capabilities = { atomicBatchWrite: false }
  readonly layout: RedisKeyLayout
  readonly #transport: RedisTransport
  readonly #cache: TrackingCache | undefined
  readonly #timeoutMs: number
  readonly #replicaReads: boolean
  readonly #ttlArg: string
  readonly #writeFields = new Map<string, { readonly features: readonly string[]; readonly fields: readonly Buffer[] }>()
  /** When Redis last answered anything; a long silence with work pending replaces the connection. */
  #lastReplyAt = Date.now()
  #closed = false

  constructor(transport: RedisTransport, config: RedisOnlineStoreConfig, ctx: OnlineStoreContext, cache?: TrackingCache) {
    this.#transport = transport
    this.#cache = cache
    this.layout = new RedisKeyLayout(ctx.project, ctx.entityKeySerializationVersion)
    this.#timeoutMs = config.command_timeout_ms
    this.#replicaReads = config.read_from_replicas
    this.#ttlArg = String(config.key_ttl_seconds ?? 0)
  }

  prepareRead(groups: readonly OnlineReadGroup[]): RedisPrepared {
    const shapes = groups.map((group): ReadShape => {
      const features = group.views.flatMap((view) => featureFields(view.name, view.features))
      const fields = [...features, ...group.views.map((view) => timestampField(view.name))]
      return {
        id: nextShapeId++,
        template: ['HMGET', Buffer.alloc(0), ...fields],
        mode: { hgetall: true, kept: -1, reads: 0 },
        cellCount: fields.length,
        featureCells: features.length,
        fieldIndex: new FieldIndex(fields),
      }
    })
    return { groups, shapes }
  }

  async read(prepared: PreparedRead, keys: ReadonlyArray<readonly Uint8Array[]>, options?: OperationOptions): Promise<OnlineReadResult> {
    this.#checkOpen()
    const shapes = (prepared as RedisPrepared).shapes
    const cache = this.#cache
    const result: Array<Array<EntityCells | null>> = new Array<Array<EntityCells | null>>(shapes.length)
    const commands: RedisArgument[][] = []
    const routes: Buffer[] = []
    // Where each command's answer goes: group and position, packed as g * 2^32 + k.
    const targets: number[] = []
    // Whether each command is an HGETALL.
    const wholeHash: boolean[] = []
    const cacheKeys: string[] = []
    for (let g = 0; g < shapes.length; g++) {
      const shape = shapes[g]!
      const mode = shape.mode
      const whole = mode.hgetall
      // Reading by name, a shape takes one entity's whole hash now and then, to see whether views
      // were added to the hash; one entity is enough to learn from and keeps batch reads cheap.
      let probe = !whole && ++mode.reads % PROBE_EVERY === 0
      const groupKeys = keys[g] ?? []
      const out = new Array<EntityCells | null>(groupKeys.length)
      result[g] = out
      for (let k = 0; k < groupKeys.length; k++) {
        const key = this.layout.key(groupKeys[k]!)
        if (cache !== undefined) {
          const id = key.toString('latin1')
          const cached = cache.get(id, shape.id)
          if (cached !== undefined) {
            out[k] = cached
            continue
          }
          cacheKeys.push(id)
        }
        let command: RedisArgument[]
        if (whole || probe) {
          command = ['HGETALL', key]
          wholeHash.push(true)
          probe = false
        } else {
          command = shape.template.slice()
          command[1] = key
          wholeHash.push(false)
        }
        commands.push(command)
        routes.push(key)
        targets.push(g * 4294967296 + k)
      }
    }
    if (commands.length === 0) return result

    const seq = cache?.begin(cacheKeys) ?? 0
    try {
      const replies = await this.#execute(commands, routes, this.#replicaReads, options, 'reading features', true)
      for (let i = 0; i < replies.length; i++) {
        const target = targets[i]!
        const g = Math.floor(target / 4294967296)
        const shape = shapes[g]!
        const cells = wholeHash[i] ? fromHash(replies[i] as Buffer[], shape) : fromFields(replies[i] as Array<Buffer | null>, shape)
        result[g]![target - g * 4294967296] = cells
        if (cache !== undefined) cache.store(cacheKeys[i]!, shape.id, cells === null ? null : compact(cells), seq)
      }
    } finally {
      if (cache !== undefined) cache.settle(cacheKeys)
    }
    return result
  }

  async writeBatch(batch: OnlineWriteBatch, options?: OperationOptions): Promise<OnlineWriteResult> {
    this.#checkOpen()
    const rows = batch.rows
    if (rows.length === 0) return { written: 0, skipped: 0 }
    const fields = this.#fieldsOf(batch.view, batch.features)
    const nFeatures = fields.length
    for (let r = 0; r < rows.length; r++) {
      if (rows[r]!.values.length !== nFeatures) {
        throw new MorselError(
          'MORSEL_INTERNAL',
          `Row ${r} of the write to '${batch.view}' has ${rows[r]!.values.length} values for ${nFeatures} features; nothing of the batch was written.`,
        )
      }
    }

    // Each row's key, event time and packed size, computed once.
    const keys = new Array<Buffer>(rows.length)
    const stamps = new Array<Buffer>(rows.length)
    const sizes = new Array<number>(rows.length)
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!
      keys[r] = this.layout.key(row.entityKey)
      stamps[r] = encodeTimestamp(row.eventTimeMicros)
      sizes[r] = packedRowSize(stamps[r]!, fields, row.values)
    }

    // Rows per script call: on a cluster a call's keys must share a slot; rows of one key stay in
    // their order (same call, or calls sent in order on the same connection).
    const calls: number[][] = []
    const groups = this.#transport.slotBound ? groupBySlot(keys) : [rows.map((_, r) => r)]
    for (const group of groups) {
      let call: number[] = []
      let bytes = 0
      for (const r of group) {
        if (call.length > 0 && (call.length >= ROWS_PER_CALL || bytes + sizes[r]! > BYTES_PER_CALL)) {
          calls.push(call)
          call = []
          bytes = 0
        }
        call.push(r)
        bytes += sizes[r]!
      }
      if (call.length > 0) calls.push(call)
    }
    const tsField = `_ts:${batch.view}`
    const commands = calls.map((call) => {
      const command: RedisArgument[] = ['EVALSHA', WRITE_ROWS_SHA, String(call.length)]
      let size = 0
      for (const r of call) {
        command.push(keys[r]!)
        size += sizes[r]!
      }
      const packed = Buffer.allocUnsafe(size)
      let pos = 0
      for (const r of call) {
        const micros = Math.floor(rows[r]!.eventTimeMicros)
        const seconds = Math.floor(micros / 1_000_000)
        pos = writePackedRow(packed, pos, seconds, (micros - seconds * 1_000_000) * 1000, stamps[r]!, fields, rows[r]!.values)
      }
      command.push(tsField, this.#ttlArg, packed)
      return command
    })
    const routes = calls.map((call) => keys[call[0]!]!)
    const doing = `writing '${batch.view}'`

    let outcome = await this.#execute(commands, routes, false, options, doing, false)
    const missingScript = outcome.errors.flatMap((e, i) => (e !== undefined && isNoScript(e) ? [i] : []))
    if (missingScript.length > 0) {
      // A restarted or newly promoted node has an empty script cache.
      await this.#loadScript(options)
      const retry = await this.#execute(
        missingScript.map((i) => commands[i]!),
        missingScript.map((i) => routes[i]!),
        false,
        options,
        doing,
        false,
      )
      const replies = outcome.replies.slice()
      const errors = outcome.errors.slice()
      missingScript.forEach((i, j) => {
        replies[i] = retry.replies[j]
        errors[i] = retry.errors[j]
      })
      outcome = { replies, errors }
    }

    let written = 0
    let skipped = 0
    const failed = new Map<number, unknown>()
    calls.forEach((call, c) => {
      const callError = outcome.errors[c]
      const reply = outcome.replies[c] as unknown[] | undefined
      call.forEach((r, k) => {
        const result = callError === undefined ? reply?.[k] : undefined
        if (result === 1) written++
        else if (result === 0) skipped++
        else failed.set(r, callError ?? new ErrorReply(String(result)))
      })
    })
    if (failed.size > 0) {
      const failedRows = [...failed.keys()].sort((x, y) => x - y)
      const cause = redisError(failed.get(failedRows[0]!), this.#transport.description, doing)
      throw new MorselError(
        'MORSEL_WRITE_FAILED',
        `${failedRows.length} of ${rows.length} rows of '${batch.view}' may not be stored in Redis (${written} were written, ${skipped} skipped as not newer): ${cause.message} Retrying the batch is safe: a row is only written over an older event time.`,
        { cause, details: { failedRows, written, skipped, storeCode: cause.code } },
      )
    }
    return { written, skipped }
  }

  async deleteViews(views: readonly OnlineViewRef[], options?: OperationOptions): Promise<void> {
    this.#checkOpen()
    const groups = new Map<string, { joinKeys: readonly string[]; fields: Buffer[] }>()
    for (const view of views) {
      const id = [...view.joinKeys].sort().join('\u0000')
      let group = groups.get(id)
      if (group === undefined) {
        group = { joinKeys: view.joinKeys, fields: [] }
        groups.set(id, group)
      }
      group.fields.push(...featureFields(view.name, view.features), timestampField(view.name))
    }
    if (groups.size === 0) return
    const all = [...groups.values()]
    // One pass over the keyspace for every join-key set (SCAN visits every key whatever the
    // pattern); with one set, its prefix lets the server filter more.
    const pattern = all.length === 1 ? this.layout.scanPattern(all[0]!.joinKeys) : this.layout.projectPattern()
    const masters = await this.#withDeadline(() => this.#transport.masters(), options, 'listing the Redis masters')
    await Promise.all(
      masters.map(async (master) => {
        let cursor: RedisArgument = '0'
        do {
          const page = (await this.#withDeadline(
            () => master.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(SCAN_COUNT)]),
            options,
            'scanning for keys to delete',
          )) as [Buffer, Buffer[]]
          cursor = page[0]
          const deletes: RedisArgument[][] = []
          const keys: Buffer[] = []
          for (const key of page[1]) {
            const group = all.find((g) => this.layout.owns(key, g.joinKeys))
            if (group === undefined) continue
            deletes.push(['HDEL', key, ...group.fields])
            keys.push(key)
          }
          if (deletes.length > 0) {
            // Pipelined like any batch, with the deadline counting silence, not total time.
            await this.#execute(deletes, keys, false, options, 'deleting feature values', true)
            this.#cache?.flush()
          }
        } while (cursor.toString() !== '0')
      }),
    )
  }

  async ping(options?: OperationOptions): Promise<void> {
    if (this.#closed) throw new MorselError('MORSEL_STORE_CLOSED', 'The Redis online store was used after it was closed.')
    if (!this.#transport.ready) throw this.#notReady('pinging')
    try {
      const masters = await this.#withDeadline(() => this.#transport.masters(), options, 'pinging')
      await this.#withDeadline(() => Promise.all(masters.map((m) => m.command(['PING']))), options, 'pinging')
    } catch (err) {
      throw redisError(err, this.#transport.description, 'pinging')
    }
  }

  async health(options?: OperationOptions): Promise<OnlineStoreHealth> {
    if (this.#closed) return { ok: false, detail: 'closed' }
    if (!this.#transport.ready) return { ok: false, detail: this.#notReady('checking health').message }
    const t0 = performance.now()
    try {
      const masters = await this.#withDeadline(() => this.#transport.masters(), options, 'checking health')
      await this.#withDeadline(() => Promise.all(masters.map((m) => m.command(['PING']))), options, 'checking health')
      const latencyMs = performance.now() - t0
      const stats: Record<string, number> = { nodes: masters.length, connection_resets: this.#transport.resets }
      try {
        const infos = await this.#withDeadline(() => Promise.all(masters.map((m) => m.command(['INFO']))), options, 'reading INFO')
        for (const info of infos) {
          for (const [name, value] of parseInfo(String(info))) stats[name] = (stats[name] ?? 0) + value
        }
      } catch {
        // INFO is optional (a restricted ACL user may not run it): health is PING.
      }
      const cache = this.#cache
      if (cache !== undefined) {
        stats.client_cache_entries = cache.size
        stats.client_cache_hits = cache.hits
        stats.client_cache_misses = cache.misses
        stats.client_cache_invalidations = cache.invalidations
        stats.client_cache_evictions = cache.evictions
      }
      return { ok: true, latencyMs, stats }
    } catch (err) {
      return { ok: false, detail: redisError(err, this.#transport.description, 'checking health').message }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#cache?.flush()
    await this.#transport.close()
  }

  /** Field names of a view's features, compiled once per feature list. */
  #fieldsOf(view: string, features: readonly string[]): readonly Buffer[] {
    const known = this.#writeFields.get(view)
    if (known !== undefined && known.features.length === features.length && known.features.every((f, i) => f === features[i])) {
      return known.fields
    }
    const fields = featureFields(view, features)
    this.#writeFields.set(view, { features: [...features], fields })
    return fields
  }

  async #loadScript(options: OperationOptions | undefined): Promise<void> {
    const masters = await this.#withDeadline(() => this.#transport.masters(), options, 'loading the write script')
    await this.#withDeadline(() => Promise.all(masters.map((m) => m.command(['SCRIPT', 'LOAD', WRITE_ROWS_LUA]))), options, 'loading the write script')
  }

  /**
   * Sends the commands and waits for every reply. Reads (`failFast`) reject on the first error;
   * writes settle every command and report errors per command. Redis must make progress within
   * `command_timeout_ms`: the deadline restarts whenever replies arrive, so a large write batch is
   * not cut short while Redis works through it, but a silent server fails the operation.
   */
  #execute(
    commands: RedisArgument[][],
    routes: Buffer[],
    replica: boolean,
    options: OperationOptions | undefined,
    doing: string,
    failFast: true,
  ): Promise<unknown[]>
  #execute(
    commands: RedisArgument[][],
    routes: Buffer[],
    replica: boolean,
    options: OperationOptions | undefined,
    doing: string,
    failFast: false,
  ): Promise<{ replies: unknown[]; errors: unknown[] }>
  #execute(
    commands: RedisArgument[][],
    routes: Buffer[],
    replica: boolean,
    options: OperationOptions | undefined,
    doing: string,
    failFast: boolean,
  ): Promise<unknown[] | { replies: unknown[]; errors: unknown[] }> {
    if (!this.#transport.ready) {
      return this.#whenReady(doing, options?.signal).then(() => this.#send(commands, routes, replica, options, doing, failFast))
    }
    return this.#send(commands, routes, replica, options, doing, failFast)
  }

  #send(
    commands: RedisArgument[][],
    routes: Buffer[],
    replica: boolean,
    options: OperationOptions | undefined,
    doing: string,
    failFast: boolean,
  ): Promise<unknown[] | { replies: unknown[]; errors: unknown[] }> {
    const transport = this.#transport
    const signal = options?.signal
    if (signal?.aborted) return Promise.reject(abortError(doing, signal))
    return new Promise((resolve, reject) => {
      const n = commands.length
      const replies = new Array<unknown>(n)
      const errors = new Array<unknown>(n)
      let remaining = n
      let remainingAtCheck = n
      let settled = false
      const finish = (err?: MorselError): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (err !== undefined) reject(err)
        else resolve(failFast ? replies : { replies, errors })
      }
      const onTimeout = (): void => {
        if (remaining < remainingAtCheck) {
          remainingAtCheck = remaining
          timer = setTimeout(onTimeout, this.#timeoutMs)
          return
        }
        if (remaining === n) this.#replaceIfSilent()
        const err = new MorselError(
          'MORSEL_STORE_UNAVAILABLE',
          `${this.#where()} did not answer within ${this.#timeoutMs} ms (\`command_timeout_ms\`) while ${doing}; ${remaining} of ${n} commands are unanswered.`,
          { details: { endpoint: transport.description.nodes, unanswered: remaining } },
        )
        if (failFast) finish(err)
        else {
          for (let i = 0; i < n; i++) if (replies[i] === undefined && errors[i] === undefined) errors[i] = err
          finish()
        }
      }
      const onAbort = (): void => finish(abortError(doing, signal!))
      let timer = setTimeout(onTimeout, this.#timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      let answered = false
      transport.send(commands, routes, replica, (i, reply, err) => {
        if (!answered) {
          answered = true
          this.#lastReplyAt = Date.now()
        }
        if (settled) return
        if (err !== undefined) {
          if (failFast) {
            finish(redisError(err, transport.description, doing))
            return
          }
          errors[i] = err
        } else replies[i] = reply ?? null
        if (--remaining === 0) finish()
      })
    })
  }

  /**
   * A socket that stays open while the server behind it is gone (host replaced, packets dropped)
   * is something node-redis cannot notice until TCP gives up, which takes minutes; when Redis has
   * said nothing for two deadlines in a row, open a new connection instead.
   */
  #replaceIfSilent(): void {
    if (Date.now() - this.#lastReplyAt < 2 * this.#timeoutMs) return
    this.#lastReplyAt = Date.now()
    this.#transport.reset()
  }

  /**
   * Waits, at most `command_timeout_ms`, for a connection being (re)established: a restart or
   * failover that takes a moment costs callers a short wait rather than an error, and Redis staying
   * away costs them a clear error once the deadline passes.
   */
  async #whenReady(doing: string, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs
    while (!this.#transport.ready) {
      if (this.#closed) throw new MorselError('MORSEL_STORE_CLOSED', 'The Redis online store was used after it was closed.')
      if (signal?.aborted) throw abortError(doing, signal)
      if (Date.now() >= deadline) throw this.#notReady(doing)
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  async #withDeadline<T>(start: () => Promise<T>, options: OperationOptions | undefined, doing: string): Promise<T> {
    const signal = options?.signal
    await this.#whenReady(doing, signal)
    const work = start()
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new MorselError('MORSEL_STORE_UNAVAILABLE', `${this.#where()} did not answer within ${this.#timeoutMs} ms (\`command_timeout_ms\`) while ${doing}.`, {
                  details: { endpoint: this.#transport.description.nodes },
                }),
              ),
            this.#timeoutMs,
          )
          if (signal !== undefined) {
            onAbort = () => reject(abortError(doing, signal))
            if (signal.aborted) onAbort()
            else signal.addEventListener('abort', onAbort, { once: true })
          }
        }),
      ])
    } catch (err) {
      work.catch(() => undefined)
      throw redisError(err, this.#transport.description, doing)
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }

  #notReady(doing: string): MorselError {
    const last = this.#transport.lastError
    if (last !== undefined) {
      const cause = redisError(last, this.#transport.description, doing)
      return new MorselError(cause.code, `${cause.message} (reconnecting in the background)`, { cause: last, details: cause.details })
    }
    return new MorselError('MORSEL_STORE_UNAVAILABLE', `${this.#where()} is not connected while ${doing}; reconnecting in the background.`, {
      details: { endpoint: this.#transport.description.nodes },
    })
  }

  #where(): string {
    const d = this.#transport.description
    return `${d.mode === 'redis_cluster' ? 'Redis Cluster' : d.mode === 'redis_sentinel' ? 'Redis (via Sentinel)' : 'Redis'} at ${d.nodes}`
  }

  #checkOpen(): void {
    if (this.#closed) throw new MorselError('MORSEL_STORE_CLOSED', 'The Redis online store was used after it was closed.')
  }
}

/** HMGET reply → cells; `null` when the entity has none of the views (no `_ts:` field at all). */
function fromFields(reply: Array<Buffer | null>, shape: ReadShape): EntityCells | null {
  for (let i = shape.featureCells; i < shape.cellCount; i++) if (reply[i] !== null) return reply
  return null
}

/** HGETALL reply (field, value, …) → cells in the shape's order; also teaches the shape's read mode. */
function fromHash(reply: Buffer[], shape: ReadShape): EntityCells | null {
  if (reply.length === 0) return null
  const cells = new Array<Buffer | null>(shape.cellCount).fill(null)
  const index = shape.fieldIndex
  const firstStamp = shape.featureCells
  let found = false
  let total = 0
  let kept = 0
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field = reply[i]!
    const value = reply[i + 1]!
    const size = field.length + value.length
    total += size
    const at = index.get(field)
    if (at >= 0) {
      cells[at] = value
      kept += size
      if (at >= firstStamp) found = true
    }
  }
  if (total > 0) {
    const mode = shape.mode
    const share = kept / total
    mode.kept = mode.kept < 0 ? share : mode.kept * 0.8 + share * 0.2
    mode.hgetall = mode.kept >= KEEP_HGETALL_AT
  }
  return found ? cells : null
}

/**
 * A copy of cells in one allocation, for the cache: reply buffers are views into node-redis's
 * socket chunks, and keeping them would keep whole chunks alive.
 */
function compact(cells: EntityCells): EntityCells {
  let size = 0
  for (const c of cells) if (c !== null) size += c.length
  const block = Buffer.allocUnsafeSlow(size)
  let pos = 0
  return cells.map((c) => {
    if (c === null) return null
    block.set(c, pos)
    pos += c.length
    return block.subarray(pos - c.length, pos)
  })
}

/** Row indexes grouped by cluster hash slot, each group in row order. */
function groupBySlot(keys: readonly Buffer[]): number[][] {
  const bySlot = new Map<number, number[]>()
  for (let r = 0; r < keys.length; r++) {
    const slot = keySlot(keys[r]!)
    const group = bySlot.get(slot)
    if (group === undefined) bySlot.set(slot, [r])
    else group.push(r)
  }
  return [...bySlot.values()]
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT')
}

function abortError(doing: string, signal: AbortSignal): MorselError {
  const reason: unknown = signal.reason
  if (reason instanceof MorselError) return reason
  return new MorselError('MORSEL_TIMEOUT', `The request was cancelled while ${doing} (its deadline passed or the caller aborted).`, { cause: reason })
}

const INFO_FIELDS = ['used_memory', 'instantaneous_ops_per_sec', 'keyspace_hits', 'keyspace_misses', 'connected_clients'] as const

function parseInfo(text: string): Array<[string, number]> {
  const out: Array<[string, number]> = []
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon === -1) continue
    const name = line.slice(0, colon)
    if ((INFO_FIELDS as readonly string[]).includes(name)) {
      const value = Number(line.slice(colon + 1).trim())
      if (Number.isFinite(value)) out.push([name, value])
    }
  }
  return out
}
