import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeValue, serializeEntityKey } from '../../src/encoding/index.js'
import { isMorselError, type MorselError } from '../../src/errors/index.js'
import type { OnlineStore } from '../../src/online/online-store.js'
import { REDIS_ACL_COMMANDS, redisAclRule } from '../../src/online/redis/redis-acl.js'
import { createRedisOnlineStore } from '../../src/online/redis/redis-online-store.js'
import { redisOnlineStoreConfigSchema } from '../../src/online/redis/redis-online-store-config.js'
import { ValueType } from '../../src/types/value-type.js'
import { describeOnlineStore } from '../conformance/online-store.suite.js'
import { startTlsRedis, type TlsRedisDeployment } from '../support/redis-servers.js'

/**
 * A TLS-only Redis that requires client certificates, with the default user off and `morsel`
 * holding exactly the documented rule (client-side cache included): the conformance suite must
 * pass through it and leave nothing denied in ACL LOG.
 */

let tls: TlsRedisDeployment | undefined
const opened: OnlineStore[] = []
const RULE = redisAclRule({ clientSideCache: true })
// The same rule without EVALSHA: writes must fail with an error naming it.
const NO_EVALSHA = RULE.replace(' +evalsha', '')

beforeAll(async () => {
  tls = await startTlsRedis(RULE, { noeval: NO_EVALSHA })
}, 60_000)

afterAll(async () => {
  for (const s of opened) await s.close()
  await tls?.stop()
})

function server(): TlsRedisDeployment {
  if (tls === undefined) throw new Error('the TLS test server did not start')
  return tls
}

function config(extra: Record<string, unknown> = {}) {
  const t = server()
  return redisOnlineStoreConfigSchema.parse({
    type: 'redis',
    connection_string: `rediss://127.0.0.1:${t.port}`,
    username: t.user,
    password: t.password,
    tls: { ca_file: t.certs.caFile, cert_file: t.certs.clientCert, key_file: t.certs.clientKey },
    connect_timeout_ms: 2000,
    command_timeout_ms: 1000,
    ...extra,
  })
}

async function open(project: string, extra: Record<string, unknown> = {}): Promise<OnlineStore> {
  const store = await createRedisOnlineStore(config(extra), { project, repoPath: tmpdir(), entityKeySerializationVersion: 3 })
  opened.push(store)
  return store
}

async function failure(extra: Record<string, unknown>): Promise<MorselError> {
  const err = await open('tls_fail', extra).then(
    () => new Error('expected the connection to fail'),
    (e: unknown) => e,
  )
  expect(isMorselError(err)).toBe(true)
  return err as MorselError
}

describeOnlineStore('redis over TLS with the minimal ACL user', { create: (project) => open(project) })
describeOnlineStore('redis over TLS with the minimal ACL user and the client-side cache', {
  create: (project) => open(project, { client_side_cache: { enabled: true } }),
})

describe('redis TLS and ACL', () => {
  it('takes the credentials from a rediss:// URL and paths relative to the repository', async () => {
    const t = server()
    const store = await createRedisOnlineStore(
      redisOnlineStoreConfigSchema.parse({
        type: 'redis',
        connection_string: `rediss://${t.user}:${t.password}@127.0.0.1:${t.port}`,
        tls: { ca_file: 'ca.crt', cert_file: 'client.crt', key_file: 'client.key', servername: 'localhost' },
      }),
      { project: 'tls_url', repoPath: t.certs.dir, entityKeySerializationVersion: 3 },
    )
    opened.push(store)
    expect((await store.health()).ok).toBe(true)
  })

  it('reports a wrong password as MORSEL_STORE_AUTH without revealing it', async () => {
    const err = await failure({ password: 'not-the-password-0451' })
    expect(err.code).toBe('MORSEL_STORE_AUTH')
    expect(err.message).toContain("user 'morsel'")
    expect(err.message).not.toContain('not-the-password-0451')
    expect(err.message).not.toContain(server().password)
  })

  it('names the command a user lacks the right for', async () => {
    const s = await open('tls_noeval', { username: 'noeval' })
    const key = serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [1], 3)
    const err = (await s
      .writeBatch({ view: 'v', features: ['f'], rows: [{ entityKey: key, eventTimeMicros: 1, values: [encodeValue(1, ValueType.INT64)] }] })
      .catch((e: unknown) => e)) as MorselError
    expect(err.code).toBe('MORSEL_WRITE_FAILED')
    expect(err.details.failedRows).toEqual([0])
    const cause = err.cause as MorselError
    expect(cause.code).toBe('MORSEL_STORE_AUTH')
    expect(cause.details.command).toBe('EVALSHA')
    expect(err.message).toContain("'EVALSHA'")
  })

  it('refuses a server certificate signed by a CA it was not told to trust', async () => {
    const err = await failure({ tls: { ca_file: server().certs.otherCaFile, cert_file: server().certs.clientCert, key_file: server().certs.clientKey } })
    expect(err.code).toBe('MORSEL_STORE_AUTH')
    expect(err.message).toMatch(/Cannot verify the TLS certificate/)
  })

  it('refuses a certificate issued to another name than `tls.servername`', async () => {
    const t = server()
    const err = await failure({ tls: { ca_file: t.certs.caFile, cert_file: t.certs.clientCert, key_file: t.certs.clientKey, servername: 'redis.example.com' } })
    expect(err.code).toBe('MORSEL_STORE_AUTH')
    expect(err.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID')
  })

  it('fails within the connect timeout when plain text meets the TLS port', async () => {
    const t = server()
    const err = await createRedisOnlineStore(
      redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: `redis://127.0.0.1:${t.port}`, connect_timeout_ms: 1000 }),
      { project: 'tls_plain', repoPath: tmpdir(), entityKeySerializationVersion: 3 },
    ).catch((e: unknown) => e as MorselError)
    expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    expect((err as MorselError).message).toContain('1000 ms')
    expect((err as MorselError).message).toContain('TLS')
  })

  it('says the port is plain text when TLS meets a plain server', async () => {
    const err = await createRedisOnlineStore(
      redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: 'rediss://127.0.0.1:6379', connect_timeout_ms: 2000 }),
      { project: 'tls_on_plain', repoPath: tmpdir(), entityKeySerializationVersion: 3 },
    ).catch((e: unknown) => e as MorselError)
    expect(isMorselError(err, 'MORSEL_STORE_UNAVAILABLE')).toBe(true)
    expect((err as MorselError).message).toMatch(/does not answer TLS|TLS handshake never completed/)
  })

  it('was never denied a command: the documented rule is complete', async () => {
    const t = server()
    const admin = createClient({
      socket: {
        host: '127.0.0.1',
        port: t.port,
        tls: true,
        ca: readFileSync(t.certs.caFile),
        cert: readFileSync(t.certs.clientCert),
        key: readFileSync(t.certs.clientKey),
        reconnectStrategy: false,
      },
      username: 'admin',
      password: t.adminPassword,
    })
    admin.on('error', () => undefined)
    await admin.connect()
    try {
      const log = await admin.sendCommand<Array<Record<string, unknown>>>(['ACL', 'LOG', '1000'])
      const denied = log.filter((e) => e.username === 'morsel' && e.reason !== 'auth')
      expect(denied).toEqual([])
      // And the rule grants nothing beyond the listed commands.
      const perms = String((await admin.sendCommand<Record<string, unknown>>(['ACL', 'GETUSER', 'morsel'])).commands)
      const granted = perms.split(' ').filter((p) => p.startsWith('+')).map((p) => p.slice(1)).sort()
      expect(granted).toEqual([...REDIS_ACL_COMMANDS.base, ...REDIS_ACL_COMMANDS.clientSideCache].sort())
    } finally {
      admin.destroy()
    }
  })
})
