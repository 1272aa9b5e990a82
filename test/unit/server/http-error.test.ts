import { describe, expect, it } from 'vitest'
import { MorselError } from '../../../src/errors/index.js'
import { publicError, statusOf } from '../../../src/server/http-error.js'

const writeFailed = (storeCode: string | undefined) =>
  new MorselError('MORSEL_WRITE_FAILED', '3 of 3 rows may not be stored: connection lost to 10.0.0.5:6379', { details: { failedRows: [0, 1, 2], ...(storeCode && { storeCode }) } })

describe('HTTP status of errors', () => {
  it('answers a write the store could not take because it was unreachable with 503, to be retried', () => {
    expect(statusOf(writeFailed('MORSEL_STORE_UNAVAILABLE'))).toBe(503)
    expect(statusOf(writeFailed('MORSEL_TIMEOUT'))).toBe(503)
  })

  it('keeps other write failures (a refused command, a full disk) at 500', () => {
    expect(statusOf(writeFailed('MORSEL_STORE_AUTH'))).toBe(500)
    expect(statusOf(writeFailed(undefined))).toBe(500)
  })

  it('shows callers of a 5xx the code and where the details are, never the store address', () => {
    const shown = publicError(writeFailed('MORSEL_STORE_UNAVAILABLE'), 'req-42')
    expect(shown.code).toBe('MORSEL_WRITE_FAILED')
    expect(shown.message).toContain('request id req-42')
    expect(shown.message).not.toContain('10.0.0.5')
  })
})
