import cliProgress from 'cli-progress'
import type { MaterializeProgress } from '../materialization/materialize.js'

export interface ProgressReporter {
  readonly onProgress: (event: MaterializeProgress) => void
  /** Stops the bars (restoring the cursor); call when the run ends, also on failure. */
  stop(): void
}

/**
 * Materialization progress: one bar per view on a terminal (rows, rows/s, time left), plain log
 * lines otherwise (at the start and end of each view, and every few seconds in between), so logs
 * of scheduled runs stay readable.
 */
export function createProgressReporter(out: NodeJS.WriteStream = process.stderr, options: { readonly intervalMs?: number } = {}): ProgressReporter {
  return out.isTTY === true ? barReporter(out) : lineReporter(out, options.intervalMs ?? 5000)
}

function rate(e: MaterializeProgress): number {
  return e.elapsedMs > 0 ? Math.round((e.rows * 1000) / e.elapsedMs) : 0
}

function formatSeconds(s: number): string {
  const t = Math.ceil(s)
  return t >= 3600 ? `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m` : t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`
}

function barReporter(out: NodeJS.WriteStream): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream: out,
      format: '{view} |{bar}| {percentage}% | {done}/{all} rows | {speed} rows/s | ETA {left}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  )
  const bars = new Map<string, cliProgress.SingleBar>()
  const width = { view: 0 }
  return {
    onProgress(e) {
      width.view = Math.max(width.view, e.view.length)
      let bar = bars.get(e.view)
      if (bar === undefined) {
        bar = multi.create(Math.max(e.total, 1), 0, { view: e.view.padEnd(width.view), speed: 0, left: '--', done: 0, all: e.total })
        bars.set(e.view, bar)
      }
      bar.setTotal(Math.max(e.total, 1))
      const r = rate(e)
      // An empty view shows a full bar but its true count, 0/0 rows.
      bar.update(e.phase === 'done' && e.total === 0 ? 1 : e.rows, { view: e.view.padEnd(width.view), done: e.rows, all: e.total, speed: r, left: e.phase === 'done' ? '0s' : r > 0 ? formatSeconds((e.total - e.rows) / r) : '--' })
    },
    stop() {
      multi.stop()
    },
  }
}

function lineReporter(out: NodeJS.WriteStream, intervalMs: number): ProgressReporter {
  const last = new Map<string, number>()
  return {
    onProgress(e) {
      const now = Date.now()
      if (e.phase === 'progress' && now - (last.get(e.view) ?? 0) < intervalMs) return
      last.set(e.view, now)
      const window = `${e.start.toISOString()} .. ${e.end.toISOString()}`
      if (e.phase === 'start') {
        out.write(`materialize ${e.view}: ${e.total} rows to write (${window})\n`)
      } else if (e.phase === 'progress') {
        const r = rate(e)
        const eta = r > 0 ? ` ETA ${Math.ceil((e.total - e.rows) / r)}s` : ''
        out.write(`materialize ${e.view}: ${e.rows}/${e.total} rows, ${r} rows/s${eta}\n`)
      } else {
        out.write(`materialize ${e.view}: done, ${e.written} written, ${e.skipped} skipped in ${(e.elapsedMs / 1000).toFixed(1)}s (${rate(e)} rows/s)\n`)
      }
    },
    stop() {
      last.clear()
    },
  }
}
