import { connect, type Socket } from 'node:net'

/**
 * The load generators' HTTP client (the bench's and the soak's): a keep-alive socket carrying one
 * request at a time, written as raw HTTP/1.1 so that the generator costs the shared machine little
 * next to the server it measures. With `timeoutMs`, a request not answered in time fails (status 0)
 * and its socket is dropped, so a hung server shows as errors instead of stopping the load.
 */
export class RawHttpConnection {
  readonly #socket: Socket
  #buffer: Buffer = Buffer.alloc(0)
  #pending: ((status: number) => void) | undefined
  #timer: NodeJS.Timeout | undefined
  readonly ready: Promise<void>
  dead = false

  constructor(port: number) {
    this.#socket = connect({ port, host: '127.0.0.1', noDelay: true })
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', resolve)
      this.#socket.once('error', reject)
    })
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    const fail = (): void => {
      this.dead = true
      this.#settle(0)
    }
    this.#socket.on('error', fail)
    this.#socket.on('close', fail)
  }

  /** Sends one request; resolves with the answer's status, or 0 for no answer. */
  send(request: Buffer, timeoutMs?: number): Promise<number> {
    return new Promise((resolve) => {
      if (this.dead) return resolve(0)
      this.#pending = resolve
      if (timeoutMs !== undefined) {
        this.#timer = setTimeout(() => {
          this.dead = true
          this.#settle(0)
          this.#socket.destroy()
        }, timeoutMs)
      }
      this.#socket.write(request)
    })
  }

  close(): void {
    this.#socket.destroy()
  }

  #settle(status: number): void {
    clearTimeout(this.#timer)
    const p = this.#pending
    this.#pending = undefined
    p?.(status)
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    for (;;) {
      const headEnd = this.#buffer.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      const head = this.#buffer.toString('latin1', 0, headEnd)
      const length = /\r\ncontent-length: *(\d+)/i.exec(head)
      let total = headEnd + 4
      if (length !== null) {
        total += Number(length[1])
      } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        const last = this.#buffer.indexOf('\r\n0\r\n\r\n', headEnd)
        if (last < 0) return
        total = last + 7
      }
      if (this.#buffer.length < total) return
      this.#buffer = this.#buffer.subarray(total)
      this.#settle(Number(head.slice(9, 12)))
    }
  }
}

/** A POST with a JSON body, as bytes ready to write. */
export function jsonPost(port: number, path: string, body: unknown): Buffer {
  return jsonTextPost(port, path, JSON.stringify(body))
}

/** A POST of JSON text sent as it is, as bytes ready to write. */
export function jsonTextPost(port: number, path: string, text: string): Buffer {
  return Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
}
