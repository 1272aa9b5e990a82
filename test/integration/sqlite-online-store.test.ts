import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { encodeValue } from '../../src/encoding/index.js'
import { isMorselError } from '../../src/errors/index.js'
import { createSqliteOnlineStore } from '../../src/online/sqlite/sqlite-online-store.js'
import { ValueType } from '../../src/types/value-type.js'
import { describeOnlineStore } from '../conformance/online-store.suite.js'

const dir = mkdtempSync(join(tmpdir(), 'morsel-sqlite-'))

describeOnlineStore('sqlite', {
  create: (project) => createSqliteOnlineStore({ type: 'sqlite', path: 'online.db' }, { project, repoPath: dir, entityKeySerializationVersion: 3 }),
})

describe('SqliteOnlineStore errors', () => {
  const key = new Uint8Array([1, 2, 3])
  const one = encodeValue(1, ValueType.INT64, 'v:a')

  it('refuses a row with fewer values than features, naming the row and the features, and writes nothing of the batch', async () => {
    const store = await createSqliteOnlineStore({ type: 'sqlite', path: 'short.db' }, { project: 'short', repoPath: dir, entityKeySerializationVersion: 3 })
    try {
      const rows = [
        { entityKey: new Uint8Array([9]), eventTimeMicros: 1, values: [one, one] },
        { entityKey: key, eventTimeMicros: 1, values: [one] },
      ]
      const err = await store.writeBatch({ view: 'v', features: ['a', 'b'], rows }).catch((e: unknown) => e)
      expect(isMorselError(err, 'MORSEL_REQUEST_INVALID')).toBe(true)
      expect((err as Error).message).toContain("Row 1 of the write to 'v' has 1 values for 2 features (a, b)")
      const prepared = store.prepareRead([{ joinKeys: ['k'], views: [{ name: 'v', features: ['a', 'b'] }] }])
      expect(await store.read(prepared, [[new Uint8Array([9]), key]])).toEqual([[null, null]])
    } finally {
      await store.close()
    }
  })

  it('reports a failed delete of views as a MorselError', async () => {
    const store = await createSqliteOnlineStore({ type: 'sqlite', path: 'dropped.db' }, { project: 'dropped', repoPath: dir, entityKeySerializationVersion: 3 })
    try {
      // Another process dropped the table under the store: the delete cannot run.
      const other = new Database(join(dir, 'dropped.db'))
      other.exec('DROP TABLE morsel_online_values')
      other.close()
      const err = await store.deleteViews([{ name: 'v', joinKeys: ['k'], features: ['a'] }]).catch((e: unknown) => e)
      expect(isMorselError(err, 'MORSEL_STORE_ERROR')).toBe(true)
      expect((err as Error).message).toMatch(/^Deleting the online data of 'v' from SQLite .*dropped\.db failed and nothing was deleted: no such table: morsel_online_values/)
    } finally {
      await store.close()
    }
  })
})
