import { mkdirSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import Database from 'better-sqlite3'
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
  PreparedRead,
} from '../online-store.js'
import type { SqliteOnlineStoreConfig } from './sqlite-online-store-config.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS morsel_online_values (
  project TEXT NOT NULL,
  view TEXT NOT NULL,
  entity_key BLOB NOT NULL,
  feature TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (project, view, entity_key, feature)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS morsel_online_event_times (
  project TEXT NOT NULL,
  view TEXT NOT NULL,
  entity_key BLOB NOT NULL,
  event_time_us INTEGER NOT NULL,
  event_time BLOB NOT NULL,
  PRIMARY KEY (project, view, entity_key)
) WITHOUT ROWID;
`

export async function createSqliteOnlineStore(config: SqliteOnlineStoreConfig, ctx: OnlineStoreContext): Promise<SqliteOnlineStore> {
  const path = config.path === ':memory:' ? ':memory:' : isAbsolute(config.path) ? config.path : resolve(ctx.repoPath, config.path)
  return new SqliteOnlineStore(path, ctx.project)
}

interface SqlitePrepared extends PreparedRead {
  /** Per group, per view: feature name → cell index. */
  readonly cellIndex: ReadonlyArray<ReadonlyArray<ReadonlyMap<string, number>>>
  readonly cellCount: readonly number[]
}

/**
 * The embedded online store: one SQLite file, a row per (view, entity, feature) holding the same
 * Value protobufs Redis holds, and a row per (view, entity) with the event time. Writes of a batch
 * are one transaction, so a failed batch leaves nothing behind.
 */
export class SqliteOnlineStore implements OnlineStore {
  readonly kind = 'sqlite'
  readonly capabilities = { atomicBatchWrite: true }
  readonly path: string
  readonly #project: string
  readonly #db: Database.Database
  readonly #selectValues: Database.Statement<[string, string, Uint8Array], { feature: string; value: Buffer }>
  readonly #selectTime: Database.Statement<[string, string, Uint8Array], { event_time_us: number; event_time: Buffer }>
  readonly #upsertValue: Database.Statement<[string, string, Uint8Array, string, Uint8Array]>
  readonly #upsertTime: Database.Statement<[string, string, Uint8Array, number, Uint8Array]>
  #closed = false

  constructor(path: string, project: string) {
    this.path = path
    this.#project = project
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
      this.#db = new Database(path)
      this.#db.pragma('journal_mode = WAL')
      this.#db.pragma('busy_timeout = 10000')
      this.#db.pragma('synchronous = NORMAL')
      this.#db.exec(SCHEMA)
    } catch (err) {
      throw new MorselError('MORSEL_STORE_UNAVAILABLE', `Cannot open the SQLite online store ${path}: ${(err as Error).message}`, { cause: err })
    }
    this.#selectValues = this.#db.prepare('SELECT feature, value FROM morsel_online_values WHERE project = ? AND view = ? AND entity_key = ?')
    this.#selectTime = this.#db.prepare('SELECT event_time_us, event_time FROM morsel_online_event_times WHERE project = ? AND view = ? AND entity_key = ?')
    this.#upsertValue = this.#db.prepare(
      'INSERT INTO morsel_online_values (project, view, entity_key, feature, value) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value',
    )
    this.#upsertTime = this.#db.prepare(
      'INSERT INTO morsel_online_event_times (project, view, entity_key, event_time_us, event_time) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET event_time_us = excluded.event_time_us, event_time = excluded.event_time',
    )
  }

  prepareRead(groups: readonly OnlineReadGroup[]): SqlitePrepared {
    const cellIndex = groups.map((g) => {
      let i = 0
      return g.views.map((v) => new Map(v.features.map((f) => [f, i++])))
    })
    const cellCount = groups.map((g) => g.views.reduce((n, v) => n + v.features.length + 1, 0))
    return { groups, cellIndex, cellCount }
  }

  async read(prepared: PreparedRead, keys: ReadonlyArray<readonly Uint8Array[]>): Promise<OnlineReadResult> {
    this.#checkOpen()
    const p = prepared as SqlitePrepared
    try {
      return p.groups.map((group, g) => {
        const groupKeys = keys[g] ?? []
        const indexes = p.cellIndex[g] ?? []
        const featureCells = (p.cellCount[g] ?? 0) - group.views.length
        return groupKeys.map((key): EntityCells | null => {
          const cells: Array<Uint8Array | null> = new Array<Uint8Array | null>(p.cellCount[g] ?? 0).fill(null)
          let found = false
          group.views.forEach((view, v) => {
            const time = this.#selectTime.get(this.#project, view.name, key)
            if (time === undefined) return
            found = true
            cells[featureCells + v] = time.event_time
            const index = indexes[v]
            for (const row of this.#selectValues.iterate(this.#project, view.name, key)) {
              const at = index?.get(row.feature)
              if (at !== undefined) cells[at] = row.value
            }
          })
          return found ? cells : null
        })
      })
    } catch (err) {
      throw new MorselError('MORSEL_STORE_ERROR', `SQLite online store read failed: ${(err as Error).message}`, { cause: err })
    }
  }

  async writeBatch(batch: OnlineWriteBatch): Promise<OnlineWriteResult> {
    this.#checkOpen()
    const project = this.#project
    let written = 0
    let skipped = 0
    const width = batch.features.length
    batch.rows.forEach((row, i) => {
      if (row.values.length !== width) {
        throw new MorselError(
          'MORSEL_REQUEST_INVALID',
          `Row ${i} of the write to '${batch.view}' has ${row.values.length} values for ${width} features (${batch.features.join(', ')}); give one value per feature, in that order (an empty buffer for null). Nothing of the batch was written.`,
          { details: { view: batch.view, row: i, values: row.values.length, features: width } },
        )
      }
    })
    const write = this.#db.transaction(() => {
      for (const row of batch.rows) {
        const stored = this.#selectTime.get(project, batch.view, row.entityKey)
        if (stored !== undefined && stored.event_time_us >= row.eventTimeMicros) {
          skipped++
          continue
        }
        this.#upsertTime.run(project, batch.view, row.entityKey, row.eventTimeMicros, encodeTimestamp(row.eventTimeMicros))
        batch.features.forEach((feature, i) => {
          this.#upsertValue.run(project, batch.view, row.entityKey, feature, row.values[i]!)
        })
        written++
      }
    })
    try {
      write.immediate()
    } catch (err) {
      throw new MorselError(
        'MORSEL_WRITE_FAILED',
        `Writing ${batch.rows.length} rows of '${batch.view}' to SQLite failed and nothing of the batch was stored: ${(err as Error).message}. Retrying is safe.`,
        { cause: err, details: { failedRows: batch.rows.map((_, i) => i) } },
      )
    }
    return { written, skipped }
  }

  async deleteViews(views: readonly OnlineViewRef[]): Promise<void> {
    this.#checkOpen()
    const del = this.#db.transaction(() => {
      for (const v of views) {
        this.#db.prepare('DELETE FROM morsel_online_values WHERE project = ? AND view = ?').run(this.#project, v.name)
        this.#db.prepare('DELETE FROM morsel_online_event_times WHERE project = ? AND view = ?').run(this.#project, v.name)
      }
    })
    try {
      del.immediate()
    } catch (err) {
      throw new MorselError(
        'MORSEL_STORE_ERROR',
        `Deleting the online data of ${views.map((v) => `'${v.name}'`).join(', ')} from SQLite ${this.path} failed and nothing was deleted: ${(err as Error).message}. Retrying is safe.`,
        { cause: err, details: { views: views.map((v) => v.name) } },
      )
    }
  }

  async ping(): Promise<void> {
    this.#checkOpen()
    this.#db.prepare('SELECT 1').get()
  }

  async health(): Promise<OnlineStoreHealth> {
    if (this.#closed) return { ok: false, detail: 'closed' }
    const t0 = performance.now()
    try {
      this.#db.prepare('SELECT 1').get()
      const rows = (this.#db.prepare('SELECT count(*) AS n FROM morsel_online_event_times WHERE project = ?').get(this.#project) as { n: number }).n
      return { ok: true, latencyMs: performance.now() - t0, stats: { entity_rows: rows } }
    } catch (err) {
      return { ok: false, detail: (err as Error).message }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#db.close()
  }

  #checkOpen(): void {
    if (this.#closed) throw new MorselError('MORSEL_STORE_CLOSED', 'The SQLite online store was used after it was closed.')
  }
}
