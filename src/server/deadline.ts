import { MorselError } from '../errors/index.js'

/**
 * Answers with `work`'s result, or with MORSEL_TIMEOUT once `ms` have passed, whichever comes
 * first. The work is not cancelled (a sent Redis command cannot be taken back, and stores bound
 * their own calls by `command_timeout_ms`); a late failure of abandoned work is swallowed rather
 * than left as an unhandled rejection. One timer per call, no AbortController: this is on the path
 * of every read.
 */
export function withDeadline<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  const running = work()
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      running.catch(() => undefined)
      reject(new MorselError('MORSEL_TIMEOUT', `${what} took longer than ${ms} ms (\`feature_server.limits.request_timeout_ms\`).`, { details: { timeoutMs: ms } }))
    }, ms)
    running.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: Error) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}
