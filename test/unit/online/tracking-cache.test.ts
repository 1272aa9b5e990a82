import { afterEach, describe, expect, it, vi } from 'vitest'
import { keySlot } from '../../../src/online/redis/redis-key-layout.js'
import { TrackingCache } from '../../../src/online/redis/tracking-cache.js'

const cells = (n: number) => [Buffer.from([n])]
const key = (s: string): string => Buffer.from(s).toString('latin1')

afterEach(() => {
  vi.useRealTimers()
})

describe('TrackingCache', () => {
  it('serves what it stored, per key and read shape', () => {
    const c = new TrackingCache(10, 0)
    const seq = c.begin([key('a')])
    c.store(key('a'), 1, cells(1), seq)
    c.settle([key('a')])
    expect(c.get(key('a'), 1)).toEqual(cells(1))
    expect(c.get(key('a'), 2)).toBeUndefined()
    expect([c.hits, c.misses]).toEqual([1, 1])
  })

  it('caches absence', () => {
    const c = new TrackingCache(10, 0)
    c.store(key('gone'), 1, null, c.begin([key('gone')]))
    expect(c.get(key('gone'), 1)).toBeNull()
  })

  it('drops a reply whose key was invalidated while the read was in flight, keeps later reads', () => {
    const c = new TrackingCache(10, 0)
    const first = c.begin([key('a')])
    c.invalidate(Buffer.from('a'))
    const second = c.begin([key('a')])
    c.store(key('a'), 1, cells(1), first)
    expect(c.get(key('a'), 1)).toBeUndefined()
    c.store(key('a'), 1, cells(2), second)
    expect(c.get(key('a'), 1)).toEqual(cells(2))
    c.settle([key('a'), key('a')])
    // Once no read is in flight, the invalidation record is forgotten.
    const third = c.begin([key('a')])
    c.store(key('a'), 1, cells(3), third)
    expect(c.get(key('a'), 1)).toEqual(cells(3))
  })

  it('drops replies in flight across a flush (lost connection, topology change)', () => {
    const c = new TrackingCache(10, 0)
    const seq = c.begin([key('a'), key('b')])
    c.flush()
    c.store(key('a'), 1, cells(1), seq)
    expect(c.get(key('a'), 1)).toBeUndefined()
    c.invalidate(null)
    expect(c.size).toBe(0)
  })

  it('neither serves nor stores while disabled', () => {
    const c = new TrackingCache(10, 0)
    c.store(key('a'), 1, cells(1), c.begin([key('a')]))
    c.disable()
    expect(c.get(key('a'), 1)).toBeUndefined()
    c.store(key('b'), 1, cells(1), c.begin([key('b')]))
    c.enable()
    expect(c.get(key('b'), 1)).toBeUndefined()
  })

  it('evicts the least recently read entity beyond max_entries', () => {
    const c = new TrackingCache(2, 0)
    for (const k of ['a', 'b']) c.store(key(k), 1, cells(1), c.begin([key(k)]))
    c.get(key('a'), 1)
    c.store(key('c'), 1, cells(1), c.begin([key('c')]))
    expect(c.get(key('b'), 1)).toBeUndefined()
    expect(c.get(key('a'), 1)).toEqual(cells(1))
    expect(c.evictions).toBe(1)
  })

  it('expires entries after ttl_seconds when set', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(0)
    const c = new TrackingCache(10, 5)
    c.store(key('a'), 1, cells(1), c.begin([key('a')]))
    vi.setSystemTime(4_999)
    expect(c.get(key('a'), 1)).toEqual(cells(1))
    vi.setSystemTime(5_000)
    expect(c.get(key('a'), 1)).toBeUndefined()
  })

  it('tells binary keys apart that UTF-8 text would merge', () => {
    const c = new TrackingCache(10, 0)
    const k1 = Buffer.from([0x80, 1]).toString('latin1')
    const k2 = Buffer.from([0x81, 1]).toString('latin1')
    c.store(k1, 1, cells(1), c.begin([k1]))
    expect(c.get(k2, 1)).toBeUndefined()
    c.invalidate(Buffer.from([0x81, 1]))
    expect(c.get(k1, 1)).toEqual(cells(1))
  })
})

describe('keySlot', () => {
  it('is CRC16/XMODEM mod 16384 with Redis hash tags', () => {
    // 0x31c3 is CRC16/XMODEM's check value for "123456789".
    expect(keySlot(Buffer.from('123456789'))).toBe(0x31c3 & 16383)
    expect(keySlot(Buffer.from('foo'))).toBe(12182)
    expect(keySlot(Buffer.from('{user1000}.following'))).toBe(keySlot(Buffer.from('user1000')))
    expect(keySlot(Buffer.from('foo{{bar}}zap'))).toBe(keySlot(Buffer.from('{bar')))
  })
})
