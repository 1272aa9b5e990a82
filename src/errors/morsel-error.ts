import { ERROR_CODES, type ErrorCode } from './codes.js'

export interface MorselErrorOptions {
  readonly cause?: unknown
  /** Machine-readable facts about the failure (names, limits, suggestions). */
  readonly details?: Readonly<Record<string, unknown>>
}

/**
 * The one error class Morsel throws. Callers narrow on `code`, never on the message.
 * The original low-level error, if any, stays in `cause`.
 */
export class MorselError extends Error {
  readonly code: ErrorCode
  readonly details: Readonly<Record<string, unknown>>

  constructor(code: ErrorCode, message: string, options: MorselErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
  }

  override get name(): string {
    return 'MorselError'
  }

  /** HTTP status of this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].status
  }

  /** CLI exit code of this error's code. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

export function isMorselError(err: unknown, code?: ErrorCode): err is MorselError {
  return err instanceof MorselError && (code === undefined || err.code === code)
}

/** Wraps anything thrown into a MorselError, keeping MorselErrors as they are. */
export function toMorselError(err: unknown, code: ErrorCode = 'MORSEL_INTERNAL'): MorselError {
  if (err instanceof MorselError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new MorselError(code, message, { cause: err })
}
