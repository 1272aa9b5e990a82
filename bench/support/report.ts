import type { ClusterResult } from '../parts/cluster.js'
import type { ColdStartResult } from '../parts/coldstart.js'
import type { HttpResult } from '../parts/http.js'
import type { MaterializeResult, PitResult } from '../parts/offline.js'
import type { ReadResult } from '../parts/read.js'

export interface SuiteResults {
  read?: ReadResult
  http?: HttpResult
  cluster?: ClusterResult
  materialize?: MaterializeResult
  pit?: PitResult
  coldstart?: ColdStartResult
}

/** One line of the table: a figure of Morsel's beside its baseline from the same run. */
export interface Row {
  readonly part: string
  readonly figure: string
  readonly morsel: string
  readonly baseline: string
  readonly ratio: string
  readonly target: string
  /** undefined: no target for this figure. */
  readonly met: boolean | undefined
}

export const us = (x: number): string => (Number.isNaN(x) ? '—' : x >= 10_000 ? `${(x / 1000).toFixed(1)} ms` : x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(0)} µs`)
const num = (x: number): string => Math.round(x).toLocaleString('en-US')
const times = (x: number): string => `${x.toFixed(2)}×`

/** A ratio row; `max`/`min` bound the ratio. */
function ratioRow(part: string, figure: string, morsel: number, baseline: number, fmt: (x: number) => string, bound?: { max?: number; min?: number }, baselineName = ''): Row {
  const r = morsel / baseline
  let met: boolean | undefined
  let target = '—'
  if (bound?.max !== undefined) {
    met = r <= bound.max
    target = `≤ ${bound.max}×`
  } else if (bound?.min !== undefined) {
    met = r >= bound.min
    target = `≥ ${bound.min}×`
  }
  return { part, figure, morsel: fmt(morsel), baseline: `${fmt(baseline)}${baselineName ? ` (${baselineName})` : ''}`, ratio: times(r), target, met }
}

export function rows(r: SuiteResults): Row[] {
  const out: Row[] = []
  for (const s of r.read?.shapes ?? []) {
    const part = '1 in-process read'
    out.push(ratioRow(part, `${s.shape} p50`, s.morsel.p50, s.raw.p50, us, { max: 1.2 }, 'raw node-redis'))
    out.push(ratioRow(part, `${s.shape} p99`, s.morsel.p99, s.raw.p99, us, { max: 1.3 }, 'raw node-redis'))
    out.push(ratioRow(part, `${s.shape} p99.9`, s.morsel.p999, s.raw.p999, us, undefined, 'raw node-redis'))
  }
  for (const s of r.http?.shapes ?? []) {
    const part = '2 HTTP'
    out.push(ratioRow(part, `${s.shape} req/s at saturation`, s.saturation.morsel, s.saturation.bare, num, { min: 0.8 }, 'bare node:http'))
    out.push(ratioRow(part, `${s.shape} p50, 1 connection`, s.seq.morsel.latency.p50, s.seq.bare.latency.p50, us, { max: 1.3 }, 'bare'))
    out.push(ratioRow(part, `${s.shape} p99, 1 connection`, s.seq.morsel.latency.p99, s.seq.bare.latency.p99, us, undefined, 'bare'))
    out.push(ratioRow(part, `${s.shape} p50, 16 connections`, s.c16.morsel.latency.p50, s.c16.bare.latency.p50, us, undefined, 'bare'))
    out.push(ratioRow(part, `${s.shape} server CPU per request (16 conns)`, s.c16.morsel.serverCpuUs, s.c16.bare.serverCpuUs, us, undefined, 'bare'))
    if (s.half !== undefined) {
      out.push(ratioRow(part, `${s.shape} p50 at half saturation (open loop, ${num(s.half.morsel.rate!)}/s vs ${num(s.half.bare.rate!)}/s)`, s.half.morsel.latency.p50, s.half.bare.latency.p50, us, undefined, 'bare'))
      const p99 = s.half.morsel.latency.p99
      out.push({
        part,
        figure: `${s.shape} p99 at half saturation (open loop)`,
        morsel: us(p99),
        baseline: `${us(s.half.bare.latency.p99)} (bare)`,
        ratio: times(p99 / s.half.bare.latency.p99),
        target: s.shape === '1x15' ? '≤ 1 ms' : '—',
        met: s.shape === '1x15' ? p99 <= 1000 : undefined,
      })
    }
    const errors = (k: 'bare' | 'morsel'): number => s.seq[k].errors + s.c16[k].errors + (s.open?.[k] ?? []).reduce((n, o) => n + o.errors, 0) + (s.half?.[k].errors ?? 0)
    out.push({ part, figure: `${s.shape} errors (every run)`, morsel: String(errors('morsel')), baseline: `${errors('bare')} (bare)`, ratio: '—', target: '0', met: errors('morsel') === 0 })
    if (s.shape === '100x50') {
      const raw = r.read?.shapes.find((x) => x.shape === '100x50')?.raw.p50
      if (raw !== undefined) out.push(ratioRow(part, '100x50 p50 over HTTP, JSON included, vs the raw pipelined batch in-process', s.seq.morsel.latency.p50, raw, us, { max: 1.5 }, 'raw node-redis'))
    }
  }
  if (r.cluster !== undefined) {
    const c = r.cluster
    out.push(ratioRow('3 cluster', `${c.shape} p50, 3 masters vs standalone`, c.cluster.p50, c.standalone.p50, us, { max: 1.5 }, 'Morsel standalone'))
    out.push(ratioRow('3 cluster', `${c.shape} p99, 3 masters vs standalone`, c.cluster.p99, c.standalone.p99, us, undefined, 'Morsel standalone'))
    out.push(ratioRow('3 cluster', `${c.shape} p50 vs raw node-redis cluster client`, c.cluster.p50, c.rawCluster.p50, us, undefined, 'raw cluster'))
  }
  for (const s of r.materialize?.sizes ?? []) {
    const part = '4 materialization'
    const label = s.rows >= 1_000_000 ? `${s.rows / 1_000_000}M` : `${s.rows / 1000}k`
    out.push(ratioRow(part, `${label} rows × ${r.materialize!.features} features, rows/s`, s.morsel.rowsPerSecond, s.pipe.rowsPerSecond, num, { min: 0.8 }, 'redis-cli --pipe'))
    const big = s.rows >= 1_000_000
    out.push({ part, figure: `${label} rows, peak RSS`, morsel: `${s.morsel.peakRssMb} MB`, baseline: '—', ratio: '—', target: big ? '< 300 MB' : '—', met: big ? s.morsel.peakRssMb < 300 : undefined })
  }
  if (r.pit !== undefined) {
    const p = r.pit
    out.push(ratioRow('5 point-in-time', `${num(p.entityRows)} entity rows × 2 views (${num(p.viewRows)} rows each), ${p.features} features, to Parquet`, p.morsel.seconds * 1e6, p.sql.seconds * 1e6, us, { max: 1.5 }, 'DuckDB SQL'))
  }
  if (r.coldstart !== undefined) {
    const c = r.coldstart
    out.push(ratioRow('6 cold start', `first request's latency vs steady p99 (${c.shape})`, c.firstRequestUs, c.steady.p99, us, { max: 3 }, 'steady p99'))
    out.push({ part: '6 cold start', figure: 'spawn of `morsel serve` to first answer', morsel: us(c.startToFirstUs), baseline: '—', ratio: '—', target: '—', met: undefined })
  }
  return out
}

export function table(rs: readonly Row[]): string {
  const lines = ['| part | figure | Morsel | baseline | ratio | target | met? |', '| --- | --- | ---: | ---: | ---: | --- | --- |']
  for (const r of rs) lines.push(`| ${r.part} | ${r.figure} | ${r.morsel} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`)
  return lines.join('\n')
}
