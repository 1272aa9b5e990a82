import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeTimestamp, encodeValue, serializeEntityKey } from '../../src/encoding/index.js'
import { isMorselError } from '../../src/errors/index.js'
import type { OnlineStore, OnlineWriteRow } from '../../src/online/online-store.js'
import { ValueType } from '../../src/types/value-type.js'

/**
 * The contract every online store backend must keep. A backend's integration test calls
 * `describeOnlineStore` with a factory that opens its store bound to a given project; each test
 * uses fresh project names, so backends shared between test files stay isolated.
 */
export interface OnlineStoreFactory {
  /** Opens a store bound to `project` (a new connection each call). */
  create(project: string): Promise<OnlineStore>
}

const zip = (n: number): Buffer => serializeEntityKey([{ name: 'zipcode', valueType: ValueType.INT64 }], [n], 3)
const ssn = (s: string): Buffer => serializeEntityKey([{ name: 'dob_ssn', valueType: ValueType.STRING }], [s], 3)
const i64 = (n: number): Buffer => encodeValue(n, ValueType.INT64)
const str = (s: string): Buffer => encodeValue(s, ValueType.STRING)
const T0 = Date.UTC(2024, 0, 15) * 1000

const ZIP_VIEW = { joinKeys: ['zipcode'], views: [{ name: 'zipcode_features', features: ['city', 'population'] }] }

export function describeOnlineStore(name: string, factory: OnlineStoreFactory): void {
  describe(`${name}: OnlineStore conformance`, () => {
    const opened: OnlineStore[] = []
    const open = async (project = `conf_${randomUUID().replace(/-/g, '').slice(0, 12)}`): Promise<OnlineStore> => {
      const s = await factory.create(project)
      opened.push(s)
      return s
    }
    afterAll(async () => {
      for (const s of opened) {
        await s.deleteViews([
          { name: 'zipcode_features', joinKeys: ['zipcode'], features: ['city', 'population', 'state'] },
          { name: 'zipcode_extra', joinKeys: ['zipcode'], features: ['tax_returns_filed'] },
          { name: 'credit_history', joinKeys: ['dob_ssn'], features: ['credit_card_due'] },
        ]).catch(() => undefined)
        await s.close()
      }
    })

    const row = (key: Buffer, micros: number, values: Buffer[]): OnlineWriteRow => ({ entityKey: key, eventTimeMicros: micros, values })

    it('answers null for entities it does not hold, one answer per key in order', async () => {
      const s = await open()
      const prepared = s.prepareRead([ZIP_VIEW])
      const result = await s.read(prepared, [[zip(1), zip(2), zip(3)]])
      expect(result).toHaveLength(1)
      expect(result[0]).toEqual([null, null, null])
    })

    it('returns written cells in the requested order, with the event time cell last', async () => {
      const s = await open()
      const w = await s.writeBatch({
        view: 'zipcode_features',
        features: ['city', 'population'],
        rows: [row(zip(76104), T0, [str('FORT WORTH'), i64(54839)]), row(zip(7675), T0 + 1, [str('WESTWOOD'), i64(24083)])],
      })
      expect(w).toEqual({ written: 2, skipped: 0 })
      const prepared = s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'zipcode_features', features: ['population', 'city'] }] }])
      const [cells] = await s.read(prepared, [[zip(7675), zip(99999), zip(76104)]])
      expect(cells?.[0]?.map((c) => Buffer.from(c ?? []))).toEqual([i64(24083), str('WESTWOOD'), encodeTimestamp(T0 + 1)])
      expect(cells?.[1]).toBeNull()
      expect(cells?.[2]?.map((c) => Buffer.from(c ?? []))).toEqual([i64(54839), str('FORT WORTH'), encodeTimestamp(T0)])
    })

    it('never replaces a newer event time with an older or equal one, within and across batches', async () => {
      const s = await open()
      const features = ['city', 'population']
      const first = await s.writeBatch({
        view: 'zipcode_features',
        features,
        rows: [row(zip(1), T0 + 10, [str('new'), i64(2)]), row(zip(1), T0 + 5, [str('older in same batch'), i64(1)])],
      })
      expect(first).toEqual({ written: 1, skipped: 1 })
      const older = await s.writeBatch({ view: 'zipcode_features', features, rows: [row(zip(1), T0, [str('old'), i64(0)])] })
      expect(older).toEqual({ written: 0, skipped: 1 })
      const equal = await s.writeBatch({ view: 'zipcode_features', features, rows: [row(zip(1), T0 + 10, [str('same time'), i64(9)])] })
      expect(equal).toEqual({ written: 0, skipped: 1 })
      const prepared = s.prepareRead([ZIP_VIEW])
      expect((await s.read(prepared, [[zip(1)]]))[0]?.[0]?.map((c) => Buffer.from(c ?? []))).toEqual([str('new'), i64(2), encodeTimestamp(T0 + 10)])
      const newer = await s.writeBatch({ view: 'zipcode_features', features, rows: [row(zip(1), T0 + 11, [str('newest'), i64(3)])] })
      expect(newer).toEqual({ written: 1, skipped: 0 })
      expect(Buffer.from((await s.read(prepared, [[zip(1)]]))[0]?.[0]?.[0] ?? [])).toEqual(str('newest'))
    })

    it('keeps the event times of views sharing an entity apart', async () => {
      const s = await open()
      await s.writeBatch({ view: 'zipcode_features', features: ['city', 'population'], rows: [row(zip(5), T0 + 100, [str('A'), i64(1)])] })
      await s.writeBatch({ view: 'zipcode_extra', features: ['tax_returns_filed'], rows: [row(zip(5), T0, [i64(7)])] })
      const prepared = s.prepareRead([
        {
          joinKeys: ['zipcode'],
          views: [
            { name: 'zipcode_features', features: ['city'] },
            { name: 'zipcode_extra', features: ['tax_returns_filed'] },
          ],
        },
      ])
      const [[cells]] = (await s.read(prepared, [[zip(5)]])) as [[Array<Uint8Array | null>]]
      expect(cells.map((c) => (c === null ? null : Buffer.from(c)))).toEqual([str('A'), i64(7), encodeTimestamp(T0 + 100), encodeTimestamp(T0)])
      // An older write of one view is judged against that view's time, not the other's.
      const r = await s.writeBatch({ view: 'zipcode_extra', features: ['tax_returns_filed'], rows: [row(zip(5), T0 + 50, [i64(8)])] })
      expect(r.written).toBe(1)
    })

    it('reports an entity present in one view and absent from another', async () => {
      const s = await open()
      await s.writeBatch({ view: 'zipcode_features', features: ['city', 'population'], rows: [row(zip(6), T0, [str('only here'), i64(1)])] })
      const prepared = s.prepareRead([
        {
          joinKeys: ['zipcode'],
          views: [
            { name: 'zipcode_extra', features: ['tax_returns_filed'] },
            { name: 'zipcode_features', features: ['city'] },
          ],
        },
      ])
      const cells = (await s.read(prepared, [[zip(6)]]))[0]?.[0]
      expect(cells).not.toBeNull()
      expect(cells?.[0]).toBeNull()
      expect(Buffer.from(cells?.[1] ?? [])).toEqual(str('only here'))
      expect(cells?.[2]).toBeNull()
      expect(Buffer.from(cells?.[3] ?? [])).toEqual(encodeTimestamp(T0))
    })

    it('stores explicit nulls as empty cells and leaves unwritten features null', async () => {
      const s = await open()
      await s.writeBatch({ view: 'zipcode_features', features: ['city', 'population'], rows: [row(zip(8), T0, [Buffer.alloc(0), i64(0)])] })
      const prepared = s.prepareRead([{ joinKeys: ['zipcode'], views: [{ name: 'zipcode_features', features: ['city', 'population', 'state'] }] }])
      const cells = (await s.read(prepared, [[zip(8)]]))[0]?.[0]
      expect(cells?.[0]).not.toBeNull()
      expect(cells?.[0]?.length).toBe(0)
      expect(Buffer.from(cells?.[1] ?? [])).toEqual(i64(0))
      expect(cells?.[2]).toBeNull()
      expect(cells?.[3]).not.toBeNull()
    })

    it('reads several groups of join keys in one call', async () => {
      const s = await open()
      await s.writeBatch({ view: 'zipcode_features', features: ['city', 'population'], rows: [row(zip(9), T0, [str('Z'), i64(9)])] })
      await s.writeBatch({ view: 'credit_history', features: ['credit_card_due'], rows: [row(ssn('19630621_4278'), T0, [i64(1795)])] })
      const prepared = s.prepareRead([
        { joinKeys: ['dob_ssn'], views: [{ name: 'credit_history', features: ['credit_card_due'] }] },
        ZIP_VIEW,
      ])
      const result = await s.read(prepared, [[ssn('nobody'), ssn('19630621_4278')], [zip(9)]])
      expect(result[0]?.[0]).toBeNull()
      expect(Buffer.from(result[0]?.[1]?.[0] ?? [])).toEqual(i64(1795))
      expect(Buffer.from(result[1]?.[0]?.[0] ?? [])).toEqual(str('Z'))
    })

    it('is binary-safe in keys and values', async () => {
      const s = await open()
      const key = serializeEntityKey([{ name: 'blob', valueType: ValueType.BYTES }], [Buffer.from([0, 255, 10, 13, 42, 63, 91, 92, 0])], 3)
      const value = encodeValue(Buffer.from([0, 1, 2, 255, 0]), ValueType.BYTES)
      await s.writeBatch({ view: 'zipcode_features', features: ['city'], rows: [row(key, T0, [value])] })
      const prepared = s.prepareRead([{ joinKeys: ['blob'], views: [{ name: 'zipcode_features', features: ['city'] }] }])
      expect(Buffer.from((await s.read(prepared, [[key]]))[0]?.[0]?.[0] ?? [])).toEqual(value)
    })

    it('answers many keys in order', async () => {
      const s = await open()
      const n = 300
      await s.writeBatch({
        view: 'zipcode_features',
        features: ['city', 'population'],
        rows: Array.from({ length: n }, (_, i) => row(zip(1000 + i), T0 + i, [str(`c${i}`), i64(i)])),
      })
      const keys = Array.from({ length: n }, (_, i) => zip(1000 + ((i * 7) % n)))
      const result = await s.read(s.prepareRead([ZIP_VIEW]), [keys])
      expect(result[0]).toHaveLength(n)
      result[0]?.forEach((cells, i) => {
        expect(Buffer.from(cells?.[1] ?? [])).toEqual(i64((i * 7) % n))
      })
    })

    it('deletes exactly the given views of its own project', async () => {
      // 'local' is a suffix of the other project's name: Feast's SCAN pattern would confuse them.
      const suffix = randomBytes(4).toString('hex')
      const mine = await open(`local_${suffix}`)
      const other = await open(`credit_scoring_local_${suffix}`)
      for (const s of [mine, other]) {
        await s.writeBatch({ view: 'zipcode_features', features: ['city', 'population'], rows: [row(zip(42), T0, [str('x'), i64(1)])] })
        await s.writeBatch({ view: 'zipcode_extra', features: ['tax_returns_filed'], rows: [row(zip(42), T0, [i64(2)])] })
      }
      await mine.deleteViews([{ name: 'zipcode_features', joinKeys: ['zipcode'], features: ['city', 'population'] }])
      const prepared = (s: OnlineStore) =>
        s.prepareRead([
          {
            joinKeys: ['zipcode'],
            views: [
              { name: 'zipcode_features', features: ['city'] },
              { name: 'zipcode_extra', features: ['tax_returns_filed'] },
            ],
          },
        ])
      const mineCells = (await mine.read(prepared(mine), [[zip(42)]]))[0]?.[0]
      expect(mineCells?.[0]).toBeNull()
      expect(Buffer.from(mineCells?.[1] ?? [])).toEqual(i64(2))
      const otherCells = (await other.read(prepared(other), [[zip(42)]]))[0]?.[0]
      expect(Buffer.from(otherCells?.[0] ?? [])).toEqual(str('x'))
      // After deleting the last view, a new write of an old time is accepted again.
      await mine.deleteViews([{ name: 'zipcode_extra', joinKeys: ['zipcode'], features: ['tax_returns_filed'] }])
      expect((await mine.read(prepared(mine), [[zip(42)]]))[0]?.[0]).toBeNull()
      expect((await mine.writeBatch({ view: 'zipcode_extra', features: ['tax_returns_filed'], rows: [row(zip(42), T0 - 1, [i64(3)])] })).written).toBe(1)
    })

    it('reports health and refuses use after close', async () => {
      const s = await factory.create(`closed_${randomBytes(4).toString('hex')}`)
      expect((await s.health()).ok).toBe(true)
      await s.close()
      await s.close()
      const err = await s.read(s.prepareRead([ZIP_VIEW]), [[zip(1)]]).catch((e: unknown) => e)
      expect(isMorselError(err, 'MORSEL_STORE_CLOSED')).toBe(true)
      expect((await s.health()).ok).toBe(false)
    })
  })
}
