import { MorselError } from '../errors/index.js'

/**
 * Runs `work` with a deadline: past `ms` its signal is aborted and the caller gets MORSEL_TIMEOUT
 * at once, whether or not the work honours the signal. A late failure of the abandoned work is
 * swallowed rather than left as an unhandled rejection.
 */
export function withDeadline<T>(ms: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const running = work(controller.signal)
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort()
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
