import { createHash } from 'node:crypto'

/**
 * The server-side write of rows: keep the newest event time of each view and entity, atomically.
 *
 * Feast checks the stored `_ts:<view>` from the client and writes in a second round trip, so two
 * writers can interleave and an older row can land over a newer one. Here the comparison and the
 * HSET run inside one script, which Redis executes without interleaving other commands, and the
 * layout stays exactly Feast's: nothing is stored besides the Timestamp Feast itself stores, so the
 * script decodes that protobuf (varints, int64 seconds that may be negative).
 *
 * One call writes several rows of one view (all keys in one slot on a cluster, so usually one row
 * there):
 *
 *   KEYS[r]  the entity hash of row r (serialized entity key ‖ project)
 *   ARGV[1]  "_ts:<view>"
 *   ARGV[2]  key_ttl_seconds, "0" for none
 *   ARGV[3]  every row, packed as MessagePack (see `writePackedRow`): its event time's seconds and
 *            nanos, then its values in chunks of at most PAIRS_PER_CHUNK pairs, each chunk headed
 *            by its value count and byte size; the first chunk starts with the new
 *            google.protobuf.Timestamp bytes, then field, value, field, value …
 *
 * Why one packed argument: the client's cost is per argument and per command (node-redis writes
 * each Buffer argument as two socket chunks and keeps a promise per command), and unpacking with
 * the bundled cmsgpack costs the server less than parsing the pairs as separate arguments.
 * docs/online-stores/redis.md ("Writes") has the measurements.
 *
 * Returns one entry per row: 1 written, 0 skipped (the stored event time is equal or newer; as in
 * Feast the key's expiry is then not refreshed), or the error text for that row. Rows fail alone:
 * every Redis call inside uses pcall, so one bad key does not stop the others.
 */
export const WRITE_ROWS_LUA = `
local function varint(s, pos)
  local lo, hi, shift = 0, 0, 0
  while true do
    local b = string.byte(s, pos)
    if b == nil then return nil end
    pos = pos + 1
    local v = b % 128
    if shift < 28 then
      lo = lo + v * 2 ^ shift
    elseif shift == 28 then
      lo = lo + (v % 16) * 268435456
      hi = hi + math.floor(v / 16)
    else
      hi = hi + v * 2 ^ (shift - 32)
    end
    if b < 128 then return lo, hi % 4294967296, pos end
    shift = shift + 7
    if shift > 63 then return nil end
  end
end

local function timestamp(s)
  local sec, nanos, pos, n = 0, 0, 1, #s
  while pos <= n do
    local tag, _, p = varint(s, pos)
    if tag == nil then return nil end
    pos = p
    local field, wire = math.floor(tag / 8), tag % 8
    if wire == 0 then
      local lo, hi, p2 = varint(s, pos)
      if lo == nil then return nil end
      pos = p2
      if field == 1 then
        if hi >= 2147483648 then sec = (hi - 4294967296) * 4294967296 + lo else sec = hi * 4294967296 + lo end
      elseif field == 2 then
        nanos = lo
      end
    elseif wire == 2 then
      local len, _, p2 = varint(s, pos)
      if len == nil then return nil end
      pos = p2 + len
    elseif wire == 1 then
      pos = pos + 8
    elseif wire == 5 then
      pos = pos + 4
    else
      return nil
    end
  end
  if pos ~= n + 1 then return nil end
  return sec, nanos
end

local function hset(key, field, nextPos, ...)
  if field then return redis.pcall('HSET', key, field, ...) end
  return redis.pcall('HSET', key, ...)
end

local tsField, ttl, rows = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {}
local pos = 0
for r = 1, #KEYS do
  local key = KEYS[r]
  local newSec, newNanos, chunks
  pos, newSec, newNanos, chunks = cmsgpack.unpack_limit(rows, 3, pos)
  local write = true
  local stored = redis.pcall('HGET', key, tsField)
  if type(stored) == 'table' then
    out[r] = stored.err
    write = false
  elseif stored then
    local sec, nanos = timestamp(stored)
    if sec == nil then
      out[r] = 'MORSEL_BAD_TIMESTAMP the stored ' .. tsField .. ' is not a protobuf Timestamp'
      write = false
    elseif newSec < sec or (newSec == sec and newNanos <= nanos) then
      out[r] = 0
      write = false
    end
  end
  local done = 0
  for c = 1, chunks do
    local count, size
    pos, count, size = cmsgpack.unpack_limit(rows, 2, pos)
    if write and type(done) ~= 'table' then
      local field = nil
      if c == 1 then field = tsField end
      done = hset(key, field, cmsgpack.unpack_limit(rows, count, pos))
    end
    pos = pos + size
  end
  if write then
    if type(done) ~= 'table' and ttl > 0 then done = redis.pcall('EXPIRE', key, ttl) end
    if type(done) == 'table' then out[r] = done.err else out[r] = 1 end
  end
end
return out
`

/** SHA1 of the script, as EVALSHA wants it. */
export const WRITE_ROWS_SHA = createHash('sha1').update(WRITE_ROWS_LUA).digest('hex')

/** Rows per script call: Redis serves nobody else while a call runs (about 0.5 ms for 64 rows of 15 features). */
export const ROWS_PER_CALL = 64
/** And at most about this many bytes per call. */
export const BYTES_PER_CALL = 256 * 1024

/**
 * Pairs per chunk: cmsgpack returns every value of a chunk on the Lua stack, which holds a few
 * thousand, so very wide views are written in several HSETs (still within one atomic call).
 */
export const PAIRS_PER_CHUNK = 1000

function strHeaderSize(length: number): number {
  return length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
}

function writeStrHeader(out: Buffer, pos: number, length: number): number {
  if (length < 32) {
    out[pos] = 0xa0 | length
    return pos + 1
  }
  if (length < 0x100) {
    out[pos] = 0xd9
    out[pos + 1] = length
    return pos + 2
  }
  if (length < 0x10000) {
    out[pos] = 0xda
    out.writeUInt16BE(length, pos + 1)
    return pos + 3
  }
  out[pos] = 0xdb
  out.writeUInt32BE(length, pos + 1)
  return pos + 5
}

function writeUint32(out: Buffer, pos: number, value: number): number {
  out[pos] = 0xce
  out.writeUInt32BE(value, pos + 1)
  return pos + 5
}

/** Seconds as a MessagePack float 64: exact for every event time Morsel accepts (±2^53 µs). */
function writeFloat64(out: Buffer, pos: number, value: number): number {
  out[pos] = 0xcb
  out.writeDoubleBE(value, pos + 1)
  return pos + 9
}

const ROW_HEADER = 9 + 5 + 5
const CHUNK_HEADER = 5 + 5

function valuesSize(lead: Uint8Array | undefined, fields: readonly Uint8Array[], values: readonly Uint8Array[], from: number, to: number): number {
  let size = lead === undefined ? 0 : strHeaderSize(lead.length) + lead.length
  for (let i = from; i < to; i++) {
    const f = fields[i]!.length
    const v = values[i]!.length
    size += strHeaderSize(f) + f + strHeaderSize(v) + v
  }
  return size
}

/** Bytes `writePackedRow` writes for this row. */
export function packedRowSize(timestamp: Uint8Array, fields: readonly Uint8Array[], values: readonly Uint8Array[]): number {
  let size = ROW_HEADER
  const n = fields.length
  for (let from = 0; from === 0 || from < n; from += PAIRS_PER_CHUNK) {
    size += CHUNK_HEADER + valuesSize(from === 0 ? timestamp : undefined, fields, values, from, Math.min(n, from + PAIRS_PER_CHUNK))
  }
  return size
}

/**
 * Writes one row of the packed argument at `pos` and returns the position after it: seconds,
 * nanos, chunk count, then per chunk its value count, its byte size and its values as MessagePack
 * strings (Lua strings are bytes, so any value round-trips).
 */
export function writePackedRow(
  out: Buffer,
  pos: number,
  seconds: number,
  nanos: number,
  timestamp: Uint8Array,
  fields: readonly Uint8Array[],
  values: readonly Uint8Array[],
): number {
  const n = fields.length
  const chunks = Math.max(1, Math.ceil(n / PAIRS_PER_CHUNK))
  pos = writeFloat64(out, pos, seconds)
  pos = writeUint32(out, pos, nanos)
  pos = writeUint32(out, pos, chunks)
  for (let c = 0; c < chunks; c++) {
    const from = c * PAIRS_PER_CHUNK
    const to = Math.min(n, from + PAIRS_PER_CHUNK)
    const lead = c === 0 ? timestamp : undefined
    pos = writeUint32(out, pos, (to - from) * 2 + (lead === undefined ? 0 : 1))
    pos = writeUint32(out, pos, valuesSize(lead, fields, values, from, to))
    if (lead !== undefined) {
      pos = writeStrHeader(out, pos, lead.length)
      out.set(lead, pos)
      pos += lead.length
    }
    for (let i = from; i < to; i++) {
      const f = fields[i]!
      const v = values[i]!
      pos = writeStrHeader(out, pos, f.length)
      out.set(f, pos)
      pos += f.length
      pos = writeStrHeader(out, pos, v.length)
      out.set(v, pos)
      pos += v.length
    }
  }
  return pos
}
