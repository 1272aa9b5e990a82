import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { createClient, RESP_TYPES } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { encodeTimestamp, encodeValue, featureFieldKey } from '../../src/encoding/index.js'
import { FeatureStore } from '../../src/index.js'
import { ValueType } from '../../src/types/value-type.js'
import { specBytes } from '../unit/encoding/spec-bytes.js'
import { csv, makeRepo } from '../support/temp-repo.js'

/**
 * Feast byte compatibility of the Redis store, both ways, through FeatureStore on the shared local
 * Redis. No Python Feast runs here: "Feast wrote it" means raw HSETs of exactly the bytes Feast
 * writes (feast-internals.md §1.11 and §1.5), and "Feast can read it" means the raw hash Morsel
 * wrote equals those bytes. Each run uses its own project names, so keys never collide.
 */

const RUN = Math.random().toString(36).slice(2, 8)
const P3 = `compat_${RUN}`
const P2 = `compat_v2_${RUN}`
const OTHER = `credit_${P3}`
const T = '2024-01-15T00:00:00Z'
const T_MS = Date.parse(T)
const URL = process.env.MORSEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

const DEFINITIONS = `
import { Entity, FeatureView, FileSource, types } from 'morsel'

export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
export const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })

export const zipcodeFeatures = new FeatureView({
  name: 'zipcode_features', entities: [zipcode], ttl: { days: 3650 },
  source: new FileSource({ name: 'zipcode_source', path: 'data/zipcodes.csv', timestampField: 'event_timestamp' }),
  schema: { city: types.String, state: types.String, location_type: types.String, tax_returns_filed: types.Int64, population: types.Int64, total_wages: types.Int64 },
})

export const allTypes = new FeatureView({
  name: 'all_types', entities: [dobSsn], ttl: { days: 1 },
  source: new FileSource({ name: 'all_types_source', path: 'data/all_types.parquet', timestampField: 'event_timestamp' }),
  schema: {
    b: types.Bytes, s: types.String, i32: types.Int32, i64: types.Int64, f64: types.Float64, f32: types.Float32, flag: types.Bool, ts: types.UnixTimestamp,
    lb: types.Array(types.Bytes), ls: types.Array(types.String), li32: types.Array(types.Int32), li64: types.Array(types.Int64),
    lf64: types.Array(types.Float64), lf32: types.Array(types.Float32), lflag: types.Array(types.Bool), lts: types.Array(types.UnixTimestamp),
  },
})

// Shares the dob_ssn hash with all_types.
export const demographics = new FeatureView({
  name: 'person_demographics', entities: [dobSsn], ttl: { days: 1 },
  source: new FileSource({ name: 'demo_source', path: 'data/demographics.csv', timestampField: 'event_timestamp' }),
  schema: { person_age: types.Int64 },
})
`

async function repo(project: string, extra = '', online = ` ${URL}`): Promise<string> {
  const dir = makeRepo({
    'feature_store.yaml': `project: ${project}\nregistry: data/registry.json\nonline_store:${online}\n${extra}`,
    'features.ts': DEFINITIONS,
    'data/zipcodes.csv': csv(['event_timestamp', 'zipcode', 'city', 'state', 'location_type', 'tax_returns_filed', 'population', 'total_wages'], [[T, 1, 'A', 'B', 'C', 1, 2, 3]]),
    'data/demographics.csv': csv(['event_timestamp', 'dob_ssn', 'person_age'], [[T, 'x', 40]]),
  })
  const db = await DuckDBInstance.create(':memory:')
  const conn = await db.connect()
  await conn.run(`COPY (SELECT TIMESTAMPTZ '2024-01-15 00:00:00+00' AS event_timestamp, 'x' AS dob_ssn, '\\x00'::BLOB AS b, 's' AS s, 1::INTEGER AS i32,
    1::BIGINT AS i64, 1::DOUBLE AS f64, 1::FLOAT AS f32, true AS flag, TIMESTAMPTZ '2024-01-15 00:00:00+00' AS ts, ['\\x00'::BLOB] AS lb, ['s'] AS ls,
    [1::INTEGER] AS li32, [1::BIGINT] AS li64, [1::DOUBLE] AS lf64, [1::FLOAT] AS lf32, [true] AS lflag, [TIMESTAMPTZ '2024-01-15 00:00:00+00'] AS lts)
    TO '${join(dir, 'data/all_types.parquet')}' (FORMAT parquet)`)
  conn.closeSync()
  db.closeSync()
  return dir
}

const raw = createClient({ url: URL }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Array })
let v3: FeatureStore
let v2: FeatureStore
let other: FeatureStore

beforeAll(async () => {
  raw.on('error', () => undefined)
  await raw.connect()
  v3 = await FeatureStore.open(await repo(P3))
  v2 = await FeatureStore.open(await repo(P2, 'entity_key_serialization_version: 2\n'))
  other = await FeatureStore.open(await repo(OTHER))
  for (const s of [v3, v2, other]) await s.apply()
}, 60_000)

afterAll(async () => {
  for (const s of [v3, v2, other]) {
    await s.teardown().catch(() => undefined)
    await s.close()
  }
  raw.destroy()
})

afterEach(() => {
  vi.useRealTimers()
})

/** The whole hash at a key, as field hex → value hex. */
async function hash(key: Buffer): Promise<Record<string, string>> {
  const flat = await raw.sendCommand<Buffer[]>(['HGETALL', key])
  const out: Record<string, string> = {}
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!.toString('hex')] = flat[i + 1]!.toString('hex')
  return out
}

const hex = (notation: string): string => specBytes(notation).toString('hex')
const field = (view: string, feature: string): string => featureFieldKey(view, feature).toString('hex')
const tsField = (view: string): string => Buffer.from(`_ts:${view}`).toString('hex')

/** §1.11 (a): zipcode 76104 (INT64). */
const ZIP_76104_V3 = '01 00 00 00 | 02 00 00 00 | 07 00 00 00 | "zipcode" | 04 00 00 00 | 08 00 00 00 | 48 29 01 00 00 00 00 00'
const ZIP_76104_V2 = '02 00 00 00 | "zipcode" | 04 00 00 00 | 08 00 00 00 | 48 29 01 00 00 00 00 00'
const ssnKey = (ssn: string, version: 2 | 3): Buffer => {
  const len = Buffer.alloc(4)
  len.writeUInt32LE(Buffer.byteLength(ssn))
  const names = version === 3 ? '01 00 00 00 | 02 00 00 00 | 07 00 00 00 | "dob_ssn"' : '02 00 00 00 | "dob_ssn"'
  return Buffer.concat([specBytes(`${names} | 02 00 00 00`), len, Buffer.from(ssn)])
}

/** Feast's bytes of every feature of all_types for one row, with the JS values Morsel reads back. */
const ALL_TYPES: ReadonlyArray<{ name: string; js: unknown; bytes: string }> = [
  // From the wire table of feast-internals.md §1.5.
  { name: 'b', js: new Uint8Array(Buffer.from('abc')), bytes: hex('0a 03 61 62 63') },
  { name: 's', js: 'TX', bytes: hex('12 02 54 58') },
  { name: 'i32', js: -1, bytes: hex('18 ff ff ff ff ff ff ff ff ff 01') },
  { name: 'i64', js: 33259, bytes: hex('20 eb 83 02') },
  { name: 'f64', js: 0.5, bytes: hex('29 00 00 00 00 00 00 e0 3f') },
  { name: 'f32', js: 0.5, bytes: hex('35 00 00 00 3f') },
  { name: 'flag', js: true, bytes: hex('38 01') },
  { name: 'lf32', js: [0.5, 1], bytes: hex('82 01 0a 0a 08 00 00 00 3f 00 00 80 3f') },
  { name: 'li64', js: [1, 2], bytes: hex('72 04 0a 02 01 02') },
  // The rest from the encoding module (checked against protobufjs in test/unit/encoding).
  { name: 'ts', js: new Date(T_MS), bytes: encodeValue(new Date(T_MS), ValueType.UNIX_TIMESTAMP).toString('hex') },
  { name: 'lb', js: [new Uint8Array([0, 255]), new Uint8Array([])], bytes: encodeValue([new Uint8Array([0, 255]), new Uint8Array([])], ValueType.BYTES_LIST).toString('hex') },
  { name: 'ls', js: ['a', 'ü', ''], bytes: encodeValue(['a', 'ü', ''], ValueType.STRING_LIST).toString('hex') },
  { name: 'li32', js: [-1, 0, 7], bytes: encodeValue([-1, 0, 7], ValueType.INT32_LIST).toString('hex') },
  { name: 'lf64', js: [0.25, -2], bytes: encodeValue([0.25, -2], ValueType.DOUBLE_LIST).toString('hex') },
  { name: 'lflag', js: [true, false], bytes: encodeValue([true, false], ValueType.BOOL_LIST).toString('hex') },
  { name: 'lts', js: [new Date(T_MS), new Date(0)], bytes: encodeValue([new Date(T_MS), new Date(0)], ValueType.UNIX_TIMESTAMP_LIST).toString('hex') },
]

describe('Morsel writes exactly the bytes Feast writes', () => {
  it('lays out the §1.11 zipcode_features row: key, hashed fields, Value protobufs, _ts Timestamp', async () => {
    await v3.writeToOnlineStore('zipcode_features', [
      { zipcode: 76104, event_timestamp: T, city: 'FORT WORTH', state: 'TX', location_type: 'PRIMARY', tax_returns_filed: 33259, population: 54839, total_wages: 1116383556 },
    ])
    const key = Buffer.concat([specBytes(ZIP_76104_V3), Buffer.from(P3)])
    expect(await hash(key)).toEqual({
      [hex('"_ts:zipcode_features"')]: hex('08 80 eb 91 ad 06'),
      [hex('b7 77 b0 0c')]: hex('12 0a "FORT WORTH"'),
      [hex('32 f9 07 6f')]: hex('12 02 "TX"'),
      [hex('09 be 6d 26')]: hex('12 07 "PRIMARY"'),
      [hex('84 1a ff 9d')]: hex('20 eb 83 02'),
      [hex('57 95 0d 91')]: hex('20 b7 ac 03'),
      [hex('f9 f7 e8 e6')]: hex('20 c4 d2 aa 94 04'),
    })
    // No key_ttl_seconds configured: no expiry, as in Feast.
    expect(Number(await raw.sendCommand(['PTTL', key]))).toBe(-1)
  })

  it('keeps microseconds in the Timestamp and writes v2 keys when configured', async () => {
    await v2.writeToOnlineStore('zipcode_features', [
      { zipcode: 76104, event_timestamp: '2024-01-15T00:00:00.123456Z', city: 'X', state: 'Y', location_type: 'Z', tax_returns_filed: 0, population: -1, total_wages: 0 },
    ])
    const h = await hash(Buffer.concat([specBytes(ZIP_76104_V2), Buffer.from(P2)]))
    expect(h[tsField('zipcode_features')]).toBe(hex('08 80 eb 91 ad 06 10 80 94 ef 3a'))
    expect(h[field('zipcode_features', 'tax_returns_filed')]).toBe(hex('20 00'))
    expect(h[field('zipcode_features', 'population')]).toBe(hex('20 ff ff ff ff ff ff ff ff ff 01'))
  })

  it('writes every supported value type, and nulls as empty values, as Feast does', async () => {
    const row: Record<string, unknown> = { dob_ssn: 'written_by_morsel', event_timestamp: T }
    for (const f of ALL_TYPES) row[f.name] = f.js
    const nulls: Record<string, unknown> = { dob_ssn: 'nulls_by_morsel', event_timestamp: T }
    for (const f of ALL_TYPES) nulls[f.name] = null
    await v3.writeToOnlineStore('all_types', [row, nulls])
    const expected: Record<string, string> = { [tsField('all_types')]: hex('08 80 eb 91 ad 06') }
    for (const f of ALL_TYPES) expected[field('all_types', f.name)] = f.bytes
    expect(await hash(Buffer.concat([ssnKey('written_by_morsel', 3), Buffer.from(P3)]))).toEqual(expected)
    const expectedNulls: Record<string, string> = { [tsField('all_types')]: hex('08 80 eb 91 ad 06') }
    for (const f of ALL_TYPES) expectedNulls[field('all_types', f.name)] = ''
    expect(await hash(Buffer.concat([ssnKey('nulls_by_morsel', 3), Buffer.from(P3)]))).toEqual(expectedNulls)
  })
})

describe('Morsel serves what Feast wrote', () => {
  async function feastHset(key: Buffer, view: string, event: Buffer, values: ReadonlyArray<[string, string]>): Promise<void> {
    const args: Array<string | Buffer> = ['HSET', key, `_ts:${view}`, event]
    for (const [name, bytes] of values) args.push(featureFieldKey(view, name), Buffer.from(bytes, 'hex'))
    await raw.sendCommand(args)
  }

  it('reads every value type from a Feast-written hash, v3 keys', async () => {
    const key = Buffer.concat([ssnKey('written_by_feast', 3), Buffer.from(P3)])
    await feastHset(key, 'all_types', encodeTimestamp(T_MS * 1000), ALL_TYPES.map((f) => [f.name, f.bytes]))
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T_MS + 60_000)
    const r = await v3.getOnlineFeatures({ features: ALL_TYPES.map((f) => `all_types:${f.name}`), entityRows: [{ dob_ssn: 'written_by_feast' }] })
    for (const f of ALL_TYPES) {
      expect(r.value(f.name), f.name).toEqual(f.js)
      expect(r.status(f.name), f.name).toBe('PRESENT')
      expect(r.eventTime(f.name)?.getTime()).toBe(T_MS)
    }
  })

  it('reads a Feast-written hash with v2 keys and a null written as an empty value', async () => {
    const key = Buffer.concat([specBytes(ZIP_76104_V2), Buffer.from(P2)])
    await raw.sendCommand(['DEL', key])
    await feastHset(key, 'zipcode_features', specBytes('08 80 eb 91 ad 06'), [
      ['city', hex('12 0a "FORT WORTH"')],
      ['state', ''],
      ['population', hex('20 b7 ac 03')],
    ])
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T_MS + 60_000)
    const r = await v2.getOnlineFeatures({
      features: ['zipcode_features:city', 'zipcode_features:state', 'zipcode_features:population', 'zipcode_features:total_wages'],
      entityRows: [{ zipcode: 76104 }],
    })
    expect(r.toRows()).toEqual([{ zipcode: 76104, city: 'FORT WORTH', state: null, population: 54839, total_wages: null }])
    // Where Feast's Python path says PRESENT for both, Morsel tells a null apart from an absent field.
    expect([r.status('city'), r.status('state'), r.status('population'), r.status('total_wages')]).toEqual(['PRESENT', 'NULL_VALUE', 'PRESENT', 'NOT_FOUND'])
  })
})

describe('where Feast’s Redis path is wrong, Morsel is right', () => {
  it('answers NOT_FOUND with no time for a missing entity (Feast: PRESENT, null, 1970)', async () => {
    const r = await v3.getOnlineFeatures({ features: ['zipcode_features:city'], entityRows: [{ zipcode: 424242 }] })
    expect(r.status('city')).toBe('NOT_FOUND')
    expect(r.value('city')).toBeNull()
    expect(r.eventTime('city')).toBeNull()
  })

  it('enforces the view ttl on read: OUTSIDE_MAX_AGE once older than the ttl (Feast: PRESENT)', async () => {
    await v3.writeToOnlineStore('person_demographics', [{ dob_ssn: 'aging', event_timestamp: T, person_age: 40 }])
    vi.useFakeTimers({ toFake: ['Date'] })
    const ask = () => v3.getOnlineFeatures({ features: ['person_demographics:person_age'], entityRows: [{ dob_ssn: 'aging' }] })
    vi.setSystemTime(T_MS + 86_400_000)
    expect((await ask()).status('person_age')).toBe('PRESENT')
    vi.setSystemTime(T_MS + 86_400_000 + 1)
    const stale = await ask()
    expect(stale.status('person_age')).toBe('OUTSIDE_MAX_AGE')
    expect(stale.value('person_age')).toBeNull()
  })

  it('keeps views sharing an entity hash apart: one present, the other NOT_FOUND', async () => {
    await v3.writeToOnlineStore('person_demographics', [{ dob_ssn: 'only_demo', event_timestamp: T, person_age: 33 }])
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T_MS + 60_000)
    const r = await v3.getOnlineFeatures({ features: ['person_demographics:person_age', 'all_types:s'], entityRows: [{ dob_ssn: 'only_demo' }] })
    expect([r.status('person_age'), r.status('s')]).toEqual(['PRESENT', 'NOT_FOUND'])
    const h = await hash(Buffer.concat([ssnKey('only_demo', 3), Buffer.from(P3)]))
    expect(Object.keys(h).sort()).toEqual([field('person_demographics', 'person_age'), tsField('person_demographics')].sort())
  })

  it('tears down exactly this project, never a project whose name ends the same', async () => {
    const mineKey = Buffer.concat([specBytes(ZIP_76104_V3), Buffer.from(P3)])
    const theirsKey = Buffer.concat([specBytes(ZIP_76104_V3), Buffer.from(OTHER)])
    await other.writeToOnlineStore('zipcode_features', [
      { zipcode: 76104, event_timestamp: T, city: 'THEIRS', state: 'TX', location_type: 'P', tax_returns_filed: 1, population: 1, total_wages: 1 },
    ])
    expect(Object.keys(await hash(mineKey)).length).toBeGreaterThan(0)
    const teardown = await v3.teardown()
    expect([...teardown.views].sort()).toEqual(['all_types', 'person_demographics', 'zipcode_features'])
    expect(await hash(mineKey)).toEqual({})
    expect(await hash(Buffer.concat([ssnKey('written_by_feast', 3), Buffer.from(P3)]))).toEqual({})
    expect((await hash(theirsKey))[field('zipcode_features', 'city')]).toBe(hex('12 06 "THEIRS"'))
    // Re-register for afterAll's teardown, which must find the project again.
    await v3.apply()
  })
})

describe('key_ttl_seconds', () => {
  it('expires entity hashes like Feast: set on every write that changed the hash, not on skipped rows', async () => {
    const project = `ttl_${RUN}`
    const online = `\n  type: redis\n  connection_string: ${URL}\n  key_ttl_seconds: 3600`
    const store = await FeatureStore.open(await repo(project, '', online))
    try {
      await store.apply()
      await store.writeToOnlineStore('person_demographics', [{ dob_ssn: 'ttl', event_timestamp: T, person_age: 1 }])
      const key = Buffer.concat([ssnKey('ttl', 3), Buffer.from(project)])
      const pttl = Number(await raw.sendCommand(['PTTL', key]))
      expect(pttl).toBeGreaterThan(3_500_000)
      expect(pttl).toBeLessThanOrEqual(3_600_000)
      await raw.sendCommand(['EXPIRE', key, '100'])
      const skipped = await store.writeToOnlineStore('person_demographics', [{ dob_ssn: 'ttl', event_timestamp: '2023-01-01T00:00:00Z', person_age: 2 }])
      expect(skipped.skipped).toBe(1)
      expect(Number(await raw.sendCommand(['TTL', key]))).toBeLessThanOrEqual(100)
      await store.writeToOnlineStore('person_demographics', [{ dob_ssn: 'ttl', event_timestamp: '2024-02-01T00:00:00Z', person_age: 3 }])
      expect(Number(await raw.sendCommand(['TTL', key]))).toBeGreaterThan(3_500)
      await store.teardown()
    } finally {
      await store.close()
    }
  })
})
