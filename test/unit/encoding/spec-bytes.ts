/**
 * Turns the byte notation of feast-internals.md into bytes: hex pairs, `"ascii"` runs, and `|`
 * separators, so golden vectors can be pasted from the spec as written.
 */
export function specBytes(notation: string): Buffer {
  const parts: Buffer[] = []
  const token = /"([^"]*)"|([0-9a-fA-F]{2})|(\|)|(\s+)/y
  let pos = 0
  while (pos < notation.length) {
    token.lastIndex = pos
    const m = token.exec(notation)
    if (m === null) throw new Error(`bad spec byte notation at ${pos}: ${notation.slice(pos, pos + 10)}`)
    if (m[1] !== undefined) parts.push(Buffer.from(m[1], 'utf8'))
    else if (m[2] !== undefined) parts.push(Buffer.from(m[2], 'hex'))
    pos = token.lastIndex
  }
  return Buffer.concat(parts)
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
