import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from 'redis'

/** A private redis-server on a free port, for tests that stop, pause or restart Redis. */
export interface RedisProcess {
  readonly port: number
  /** `127.0.0.1:PORT`, as `connection_string` takes it. */
  readonly address: string
  /** Runs one command on a fresh connection (e.g. `CLIENT PAUSE 500`). */
  command(args: readonly string[]): Promise<unknown>
  /** Kills the server; the port stays free for `restart`. */
  stop(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export async function startRedisProcess(): Promise<RedisProcess> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'morsel-redis-'))
  let child: ChildProcess | undefined

  const command = async (args: readonly string[]): Promise<unknown> => {
    const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } })
    client.on('error', () => undefined)
    await client.connect()
    try {
      return await client.sendCommand([...args])
    } finally {
      client.destroy()
    }
  }

  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        if ((await command(['PING'])) === 'PONG') return
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${(err as Error).message}`, { cause: err })
      }
      await sleep(50)
    }
  }

  const stop = async (): Promise<void> => {
    const c = child
    if (c === undefined || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGKILL')
    })
    child = undefined
  }

  await start()
  return { port, address: `127.0.0.1:${port}`, command, stop, restart: start }
}
