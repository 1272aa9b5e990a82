import { tmpdir } from 'node:os'
import { createRedisOnlineStore } from '../../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../../src/online/redis/redis-online-store-config.js'
import { describeOnlineStore } from '../conformance/online-store.suite.js'

const REDIS_URL = process.env.MORSEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

describeOnlineStore('redis (standalone)', {
  create: (project) =>
    createRedisOnlineStore(redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: REDIS_URL }), {
      project,
      repoPath: tmpdir(),
      entityKeySerializationVersion: 3,
    }),
})
