import { randomUUID } from 'node:crypto'
import { MorselError, toMorselError, type ErrorCode } from '../errors/index.js'

export type JobStatus = 'running' | 'succeeded' | 'failed'

export interface MaterializeJob {
  readonly id: string
  readonly kind: 'materialize' | 'materialize-incremental'
  readonly featureViews: readonly string[]
  status: JobStatus
  readonly startedAt: string
  finishedAt?: string
  result?: unknown
  error?: { readonly code: ErrorCode; readonly message: string }
}

/** Finished jobs kept for polling. */
const KEEP_FINISHED = 100

/**
 * Materialization runs started through the server, synchronous or not: a view is materialized by
 * one run at a time (a second gets MORSEL_BUSY, 409, as Feast answers for a view already
 * MATERIALIZING), background runs can be polled by id, and shutdown waits for what is running.
 */
export class MaterializeJobs {
  readonly #jobs = new Map<string, MaterializeJob>()
  readonly #busy = new Set<string>()
  readonly #running = new Set<Promise<unknown>>()
  readonly #controller = new AbortController()
  readonly #onChange: (running: number) => void

  constructor(onChange: (running: number) => void = () => undefined) {
    this.#onChange = onChange
  }

  get(id: string): MaterializeJob {
    const job = this.#jobs.get(id)
    if (job === undefined) throw new MorselError('MORSEL_NOT_FOUND', `No materialization job '${id}' on this server (finished jobs are kept until ${KEEP_FINISHED} newer ones finish, and not across restarts).`)
    return job
  }

  list(): MaterializeJob[] {
    return [...this.#jobs.values()].reverse()
  }

  /**
   * Starts a run over `views`. Returns the job and a promise of its end (which never rejects: a
   * failure is recorded on the job). Throws MORSEL_BUSY when a view is already being materialized.
   */
  start(kind: MaterializeJob['kind'], views: readonly string[], work: (signal: AbortSignal) => Promise<unknown>): { job: MaterializeJob; done: Promise<MaterializeJob> } {
    const busy = views.filter((v) => this.#busy.has(v))
    if (busy.length > 0) {
      throw new MorselError('MORSEL_BUSY', `Feature view ${busy.map((v) => `'${v}'`).join(', ')} ${busy.length === 1 ? 'is' : 'are'} being materialized already; try again when that run ends.`, {
        details: { featureViews: busy },
      })
    }
    const job: MaterializeJob = { id: randomUUID(), kind, featureViews: [...views], status: 'running', startedAt: new Date().toISOString() }
    for (const v of views) this.#busy.add(v)
    this.#jobs.set(job.id, job)
    const done = (async () => {
      try {
        job.result = await work(this.#controller.signal)
        job.status = 'succeeded'
      } catch (err) {
        const e = toMorselError(err, 'MORSEL_MATERIALIZATION_FAILED')
        job.status = 'failed'
        job.error = { code: e.code, message: e.message }
      } finally {
        job.finishedAt = new Date().toISOString()
        for (const v of views) this.#busy.delete(v)
        this.#prune()
      }
      return job
    })()
    this.#running.add(done)
    this.#onChange(this.#running.size)
    void done.finally(() => {
      this.#running.delete(done)
      this.#onChange(this.#running.size)
    })
    return { job, done }
  }

  get running(): number {
    return this.#running.size
  }

  /** Waits for running jobs up to `ms`, then aborts what is left and waits for it to stop. */
  async drain(ms: number): Promise<void> {
    if (this.#running.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
    })
    await Promise.race([Promise.all(this.#running), timeout])
    clearTimeout(timer)
    if (this.#running.size > 0) {
      this.#controller.abort()
      await Promise.all(this.#running)
    }
  }

  #prune(): void {
    let finished = 0
    for (const job of [...this.#jobs.values()].reverse()) {
      if (job.status !== 'running' && ++finished > KEEP_FINISHED) this.#jobs.delete(job.id)
    }
  }
}
