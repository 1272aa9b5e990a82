import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * Shared parts of the fault tests (test/faults): small real filesystems to fill or make read-only,
 * the built CLI, latency summaries, and the figures each test measures, printed and kept in
 * `.test-artifacts/reliability-figures.jsonl` for docs/reliability.md.
 */

const FIGURES_FILE = resolve('.test-artifacts/reliability-figures.jsonl')

/** Prints a test's measured figures and appends them to the figures file. */
export function recordFigures(test: string, figures: Readonly<Record<string, number | string | boolean>>): void {
  const line = JSON.stringify({ test, at: new Date().toISOString(), ...figures })
  process.stdout.write(`[figures] ${line}\n`)
  mkdirSync(resolve('.test-artifacts'), { recursive: true })
  appendFileSync(FIGURES_FILE, `${line}\n`)
}

/** The q-quantile (0..1) of a list of numbers, by nearest rank; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

/**
 * A tmpfs of a few hundred KiB mounted on a fresh folder: a disk that can really be filled (writes
 * then fail with ENOSPC) and really be made read-only (EROFS, which root cannot override as it
 * overrides permission bits). Needs the mount privilege; without it the test fails, it never skips.
 */
export interface SmallDisk {
  readonly dir: string
  /** Fills the disk with filler files, leaving about `leaveBytes` free. */
  fill(leaveBytes?: number): void
  /** Removes the filler files. */
  free(): void
  /** Bytes free now. */
  available(): number
  readOnly(on: boolean): void
  unmount(): void
}

export function mountSmallDisk(sizeBytes = 512 * 1024): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'morsel-small-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`Cannot mount a tmpfs on ${dir} (the disk fault tests need root and the mount privilege): ${(err as Error).message}`, { cause: err })
  }
  const fillers = join(dir, '.filler')
  const available = (): number => {
    const s = statfsSync(dir)
    return s.bavail * s.bsize
  }
  return {
    dir,
    available,
    fill(leaveBytes = 0) {
      mkdirSync(fillers, { recursive: true })
      const page = 4096
      let i = readdirSync(fillers).length
      // Large pieces first, then page by page, down to the requested room.
      for (const chunk of [64 * page, page]) {
        while (available() - chunk >= leaveBytes) {
          try {
            writeFileSync(join(fillers, `f${i++}`), Buffer.alloc(chunk))
          } catch {
            return
          }
        }
      }
    },
    free() {
      rmSync(fillers, { recursive: true, force: true })
    },
    readOnly(on) {
      execFileSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir], { stdio: 'pipe' })
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

/** Files in a folder other than the disk's fillers, sorted. */
export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f !== '.filler').sort() : []
}

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const BIN = resolve('bin/morsel.js')

/** The built CLI (`npm run build` first; npm test does), as a user runs it. */
export function morsel(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests.')
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

export const MORSEL_BIN = BIN

export interface ChildServer {
  readonly url: string
  readonly pid: number
  /** JSON log lines the server wrote on stdout so far. */
  readonly logs: string[]
  /** Resident memory of the server process now, in bytes (from /proc). */
  rss(): number
  /** Whether the process still runs. */
  alive(): boolean
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>
}

/** `morsel serve` in its own process, as it runs in production: a crash or a leak is its own. */
export async function serveInChild(repo: string, options: { env?: NodeJS.ProcessEnv; logLevel?: string } = {}): Promise<ChildServer> {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests.')
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, [BIN, '-c', repo, 'serve', '--port', '0', '--log-level', options.logLevel ?? 'info'], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  let partial = ''
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop() ?? ''
    logs.push(...lines.filter((l) => l !== ''))
  })
  let stderr = ''
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`morsel serve did not start within 60 s:\n${stderr}`)), 60_000)
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      const m = /POST (https?:\/\/[^\s]+)\/get-online-features/.exec(stderr)
      if (m !== null) {
        clearTimeout(timer)
        done(m[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      fail(new Error(`morsel serve exited with ${code} at start:\n${stderr}`))
    })
  })
  const pid = child.pid!
  return {
    url,
    pid,
    logs,
    rss() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

export interface HeapFigures {
  readonly heapUsed: number
  readonly rss: number
  readonly external: number
}

/**
 * Environment for `serveInChild` that preloads test/support/heap-probe.mjs, and the function that
 * asks that process for its heap after a full garbage collection.
 */
export function heapProbe(): { env: NodeJS.ProcessEnv; read(pid: number): Promise<HeapFigures> } {
  const file = join(mkdtempSync(join(tmpdir(), 'morsel-heap-')), 'heap.json')
  const preload = new URL('./heap-probe.mjs', import.meta.url).href
  return {
    env: { ...process.env, MORSEL_HEAP_PROBE_FILE: file, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import=${preload}`.trim() },
    async read(pid) {
      const before = existsSync(file) ? readFileSync(file, 'utf8') : ''
      process.kill(pid, 'SIGUSR2')
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50))
        const now = existsSync(file) ? readFileSync(file, 'utf8') : ''
        if (now !== '' && now !== before) return JSON.parse(now) as HeapFigures
      }
      throw new Error(`process ${pid} did not report its heap (is heap-probe.mjs preloaded?)`)
    },
  }
}
