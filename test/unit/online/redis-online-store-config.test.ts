import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseRepoConfig } from '../../../src/config/load-config.js'
import { entityKeyPrefix, serializeEntityKey } from '../../../src/encoding/index.js'
import { MorselError } from '../../../src/errors/index.js'
import { redisAclRule } from '../../../src/online/redis/redis-acl.js'
import { escapeGlob, RedisKeyLayout } from '../../../src/online/redis/redis-key-layout.js'
import { parseConnectionString, redisOnlineStoreConfigSchema } from '../../../src/online/redis/redis-online-store-config.js'
import { packedRowSize, PAIRS_PER_CHUNK, writePackedRow } from '../../../src/online/redis/write-script.js'
import { ValueType } from '../../../src/types/value-type.js'

const where = { repoPath: '/repo', configPath: '/repo/feature_store.yaml' }

function configError(yaml: string, env: NodeJS.ProcessEnv = {}): MorselError {
  try {
    parseRepoConfig(`project: p\nregistry: r.json\n${yaml}`, { ...where, env })
  } catch (err) {
    expect(err).toBeInstanceOf(MorselError)
    return err as MorselError
  }
  throw new Error('expected the config to be rejected')
}

describe('online_store: redis in feature_store.yaml', () => {
  it('takes a redis:// or rediss:// URL as the whole online_store', () => {
    const c = parseRepoConfig('project: p\nregistry: r.json\nonline_store: rediss://u:p%40ss@cache.example.com:6380/2\n', where)
    expect(c.onlineStore).toMatchObject({ type: 'redis', redis_type: 'redis', connection_string: 'rediss://u:p%40ss@cache.example.com:6380/2' })
  })

  it('follows ${REDIS_URL:-sqlite:…}: Redis when the variable is set, SQLite otherwise', () => {
    const yaml = 'project: p\nregistry: r.json\nonline_store: ${REDIS_URL:-sqlite:data/online.db}\n'
    expect(parseRepoConfig(yaml, { ...where, env: { REDIS_URL: 'redis://127.0.0.1:6379' } }).onlineStore).toMatchObject({
      type: 'redis',
      connection_string: 'redis://127.0.0.1:6379',
    })
    expect(parseRepoConfig(yaml, { ...where, env: {} }).onlineStore).toEqual({ type: 'sqlite', path: 'data/online.db' })
  })

  it("accepts Feast's keys and defaults", () => {
    const c = parseRepoConfig(
      [
        'project: p',
        'registry: r.json',
        'online_store:',
        '  type: redis',
        '  redis_type: redis_cluster',
        '  connection_string: "redis1:6379,redis2:6379,ssl=true,password=my_password"',
        '  key_ttl_seconds: 86400',
      ].join('\n'),
      where,
    )
    expect(c.onlineStore).toMatchObject({
      type: 'redis',
      redis_type: 'redis_cluster',
      sentinel_master: 'mymaster',
      key_ttl_seconds: 86400,
      connect_timeout_ms: 5000,
      command_timeout_ms: 1000,
      read_from_replicas: false,
    })
  })

  it('names a misspelt key, and never echoes a password in a problem', () => {
    const e = configError('online_store:\n  type: redis\n  conection_string: localhost:6379\n')
    expect(e.message).toMatch(/conection_string: unknown key\. Did you mean 'connection_string'\?/)
    const bad = configError('online_store:\n  type: redis\n  connection_string: "host:6379,password=top,secret:1:2"\n')
    expect(bad.message).toMatch(/online_store.connection_string: has entry 3/)
    expect(bad.message).not.toContain('secret')
    expect(bad.message).not.toContain('top')
  })

  it('rejects combinations that cannot work', () => {
    expect(configError('online_store:\n  type: redis\n  connection_string: a:1,b:2\n').message).toMatch(/redis_type: redis_cluster/)
    expect(configError('online_store:\n  type: redis\n  read_from_replicas: true\n').message).toMatch(/read_from_replicas/)
    expect(configError('online_store:\n  type: redis\n  redis_type: redis_cluster\n  connection_string: redis://h:1/3\n').message).toMatch(/database 0/)
    expect(configError('online_store:\n  type: redis\n  tls:\n    cert_file: c.pem\n').message).toMatch(/cert_file` and `key_file` together/)
    expect(configError('online_store: memcached://h:1\n').message).toMatch(/online_store/)
  })
})

describe('connection strings', () => {
  it("parses Feast's form: seeds, ssl, credentials, db, redis-py TLS keywords", () => {
    expect(parseConnectionString('localhost:6379')).toEqual({ nodes: [{ host: 'localhost', port: 6379 }], tls: false, db: 0 })
    expect(parseConnectionString('redis:6379,db=3')).toMatchObject({ nodes: [{ host: 'redis', port: 6379 }], db: 3 })
    expect(parseConnectionString('r1:7000, r2:7001 ,ssl=true,password=p=w,username=morsel')).toEqual({
      nodes: [
        { host: 'r1', port: 7000 },
        { host: 'r2', port: 7001 },
      ],
      tls: true,
      db: 0,
      username: 'morsel',
      password: 'p=w',
    })
    expect(parseConnectionString('[::1]:6380,ssl=true,ssl_cert_reqs=none,ssl_ca_certs=ca.pem,ssl_check_hostname=false')).toMatchObject({
      nodes: [{ host: '::1', port: 6380 }],
      rejectUnauthorized: false,
      caFile: 'ca.pem',
      checkHostname: false,
    })
    expect(parseConnectionString('cache')).toMatchObject({ nodes: [{ host: 'cache', port: 6379 }] })
  })

  it('parses URLs, several seeds, and percent-encoded credentials', () => {
    expect(parseConnectionString('rediss://user:p%2Cw%40rd@cache.example.com:6380/1')).toEqual({
      nodes: [{ host: 'cache.example.com', port: 6380 }],
      tls: true,
      db: 1,
      username: 'user',
      password: 'p,w@rd',
    })
    expect(parseConnectionString('redis://:pw@a:1,redis://:pw@b:2')).toMatchObject({
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      password: 'pw',
    })
    expect(parseConnectionString('redis://[::1]')).toMatchObject({ nodes: [{ host: '::1', port: 6379 }] })
  })

  it('explains what is wrong without quoting secrets', () => {
    expect(parseConnectionString('redis://h:1/x')).toMatch(/only path a Redis URL takes is a database number/)
    expect(parseConnectionString('redis://h:1?ssl=true')).toMatch(/query parameter 'ssl'/)
    expect(parseConnectionString('http://h:1')).toMatch(/scheme 'http'/)
    expect(parseConnectionString('h:1,sssl=true')).toMatch(/the option 'sssl'/)
    expect(parseConnectionString('h:1,password=a,b=c')).toMatch(/an unknown option in entry 3/)
    expect(parseConnectionString('h:99999')).toMatch(/port is not a port number/)
    expect(parseConnectionString('redis://a:1,rediss://b:2')).toMatch(/differ in scheme/)
    expect(parseConnectionString('ssl=true')).toMatch(/no host:port/)
  })

  it('keeps option values in the schema as given (the store parses once more at connect)', () => {
    const c = redisOnlineStoreConfigSchema.parse({ type: 'redis', connection_string: 'h:1,password=x' })
    expect(c.connection_string).toBe('h:1,password=x')
  })
})

describe('key layout', () => {
  const zip = (n: number, v: 2 | 3 = 3): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], v)

  it('owns exactly `<entity key of these join keys> ‖ <project>`, never a project ending alike', () => {
    const mine = new RedisKeyLayout('local', 3)
    const theirs = new RedisKeyLayout('credit_scoring_local', 3)
    expect(mine.owns(mine.key(zip(1)), ['zipcode'])).toBe(true)
    expect(mine.owns(theirs.key(zip(1)), ['zipcode'])).toBe(false)
    expect(theirs.owns(mine.key(zip(1)), ['zipcode'])).toBe(false)
    expect(mine.owns(mine.key(zip(1)), ['dob_ssn'])).toBe(false)
    expect(mine.owns(Buffer.from('local'), ['zipcode'])).toBe(false)
    const v2 = new RedisKeyLayout('local', 2)
    expect(v2.owns(v2.key(zip(1, 2)), ['zipcode'])).toBe(true)
    expect(v2.owns(new RedisKeyLayout('x_local', 2).key(zip(1, 2)), ['zipcode'])).toBe(false)
  })

  it('escapes glob metacharacters, byte by byte, in SCAN patterns', () => {
    expect(escapeGlob(Buffer.from('a*b?c[d]e\\f'))).toEqual(Buffer.from('a\\*b\\?c\\[d\\]e\\\\f'))
    // A join-key name of 42 bytes puts a `*` (0x2a) in the v3 prefix.
    const name = 'k'.repeat(42)
    const pattern = new RedisKeyLayout('p', 3).scanPattern([name])
    const prefix = entityKeyPrefix([name], 3)
    expect(prefix.includes(0x2a)).toBe(true)
    expect(pattern).toEqual(Buffer.concat([escapeGlob(prefix), Buffer.from('*p')]))
    expect(new RedisKeyLayout('a[1]', 3).scanPattern(['k']).subarray(-6)).toEqual(Buffer.from('a\\[1\\]'))
  })
})

describe('write script packing', () => {
  /** A MessagePack reader for exactly what writePackedRow writes. */
  function reader(buf: Buffer) {
    let pos = 0
    return {
      get pos() {
        return pos
      },
      next(): number | Buffer {
        const b = buf[pos]!
        if (b === 0xcb) {
          pos += 9
          return buf.readDoubleBE(pos - 8)
        }
        if (b === 0xce) {
          pos += 5
          return buf.readUInt32BE(pos - 4)
        }
        let len: number
        if ((b & 0xe0) === 0xa0) {
          len = b & 0x1f
          pos += 1
        } else if (b === 0xd9) {
          len = buf[pos + 1]!
          pos += 2
        } else if (b === 0xda) {
          len = buf.readUInt16BE(pos + 1)
          pos += 3
        } else {
          expect(b).toBe(0xdb)
          len = buf.readUInt32BE(pos + 1)
          pos += 5
        }
        pos += len
        return buf.subarray(pos - len, pos)
      },
    }
  }

  it('packs a row: time, chunks headed by count and size, Timestamp then pairs of every length class', () => {
    const fields = [Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6, 7, 8]), Buffer.from([9, 9, 9, 9]), Buffer.from([0, 0, 0, 0])]
    const values = [Buffer.alloc(0), Buffer.alloc(31, 1), Buffer.alloc(255, 2), Buffer.alloc(70_000, 3)]
    const ts = Buffer.from([0x08, 0x01])
    const size = packedRowSize(ts, fields, values)
    const out = Buffer.alloc(size + 3)
    expect(writePackedRow(out, 3, -1234567890123, 999_000, ts, fields, values)).toBe(size + 3)
    const r = reader(out.subarray(3))
    expect([r.next(), r.next(), r.next()]).toEqual([-1234567890123, 999_000, 1])
    expect(r.next()).toBe(9)
    const bytes = r.next() as number
    const start = r.pos
    expect(r.next()).toEqual(ts)
    for (let i = 0; i < 4; i++) {
      expect(r.next()).toEqual(fields[i])
      expect(r.next()).toEqual(values[i])
    }
    expect(r.pos - start).toBe(bytes)
    expect(r.pos).toBe(size)
  })

  it('splits wide rows into chunks of PAIRS_PER_CHUNK pairs', () => {
    const n = PAIRS_PER_CHUNK * 2 + 5
    const fields = Array.from({ length: n }, (_, i) => Buffer.from([i & 255, i >> 8, 0, 1]))
    const values = fields.map((_, i) => Buffer.from([i & 255]))
    const out = Buffer.alloc(packedRowSize(Buffer.alloc(0), fields, values))
    writePackedRow(out, 0, 1, 2, Buffer.alloc(0), fields, values)
    const r = reader(out)
    expect([r.next(), r.next(), r.next()]).toEqual([1, 2, 3])
    const counts: number[] = []
    for (let c = 0; c < 3; c++) {
      const count = r.next() as number
      r.next()
      counts.push(count)
      for (let i = 0; i < count; i++) r.next()
    }
    expect(counts).toEqual([PAIRS_PER_CHUNK * 2 + 1, PAIRS_PER_CHUNK * 2, 10])
    expect(r.pos).toBe(out.length)
  })
})

describe('least-privilege ACL rule', () => {
  it('is the rule the Redis docs print', () => {
    const doc = readFileSync(new URL('../../../docs/online-stores/redis.md', import.meta.url), 'utf8')
    expect(doc).toContain(`ACL SETUSER morsel on >PASSWORD ${redisAclRule()}`)
    expect(doc).toContain(redisAclRule({ clientSideCache: true, cluster: true }).replace(redisAclRule(), '').trim())
  })
})
