import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES, MorselError } from '../../../src/errors/index.js'

const doc = readFileSync('docs/reference/errors.md', 'utf8')
const rows = new Map(
  [...doc.matchAll(/^\| `(MORSEL_[A-Z_]+)` \| (\d+) \| (\d+) \|/gm)].map((m) => [m[1]!, { status: Number(m[2]), exit: Number(m[3]) }]),
)

describe('error catalogue', () => {
  it('documents every code with its status and exit code, and no code that does not exist', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code), `${code} is missing from docs/reference/errors.md`).toEqual({ status: entry.status, exit: entry.exit })
    }
    for (const code of rows.keys()) expect(Object.keys(ERROR_CODES), `${code} is documented but not defined`).toContain(code)
  })

  it('maps a code to its status and exit code and keeps the cause', () => {
    const cause = new Error('low level')
    const e = new MorselError('MORSEL_REGISTRY_CONFLICT', 'changed', { cause, details: { currentVersion: 3 } })
    expect([e.status, e.exitCode, e.name]).toEqual([409, 4, 'MorselError'])
    expect(e.cause).toBe(cause)
    expect(e.details).toEqual({ currentVersion: 3 })
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'MORSEL_REGISTRY_CONFLICT', message: 'changed' })
  })
})
