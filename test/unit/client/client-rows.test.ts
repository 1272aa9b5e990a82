import { describe, expect, it } from 'vitest'
import { isMorselError } from '../../../src/errors/index.js'
import { MorselClient } from '../../../src/index.js'

// Rows are checked before anything is sent: nothing listens on this port, and nothing needs to.
const client = new MorselClient({ url: 'http://127.0.0.1:9' })

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (err: unknown) => err as Error,
  )
}

describe('MorselClient entity rows', () => {
  it('refuses rows with different keys as the in-process API does, before sending anything', async () => {
    const extra = await rejection(client.getOnlineFeatures({ features: ['v:f'], entityRows: [{ zipcode: 1 }, { zipcode: 2, dob_ssn: 'x' }] }))
    expect(isMorselError(extra, 'MORSEL_REQUEST_INVALID')).toBe(true)
    expect(extra.message).toBe('`entityRows[1]` has the keys zipcode, dob_ssn, but the first row has zipcode; every row needs the same keys.')
    const notObject = await rejection(client.push('src', [{ a: 1 }, 7 as never]))
    expect(isMorselError(notObject, 'MORSEL_REQUEST_INVALID') && notObject.message).toBe('`entityRows[1]` must be an object.')
    const empty = await rejection(client.writeToOnlineStore('v', []))
    expect(isMorselError(empty, 'MORSEL_REQUEST_INVALID') && empty.message).toContain('non-empty array')
  })
})
