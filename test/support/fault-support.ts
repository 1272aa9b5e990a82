import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
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
