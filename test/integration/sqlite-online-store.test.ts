import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteOnlineStore } from '../../src/online/sqlite/sqlite-online-store.js'
import { describeOnlineStore } from '../conformance/online-store.suite.js'

const dir = mkdtempSync(join(tmpdir(), 'morsel-sqlite-'))

describeOnlineStore('sqlite', {
  create: (project) => createSqliteOnlineStore({ type: 'sqlite', path: 'online.db' }, { project, repoPath: dir, entityKeySerializationVersion: 3 }),
})
