import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { formatClock } from './format'

export interface ChartSeries {
  readonly label: string
  readonly color: string
  readonly values: ReadonlyArray<number | null>
  readonly dash?: readonly number[]
}

export interface TimeChartProps {
  /** Epoch milliseconds. */
  readonly t: readonly number[]
  readonly series: readonly ChartSeries[]
  readonly format: (v: number) => string
  readonly height?: number
  /** Fixed y range, e.g. [0, 1] for ratios. */
  readonly yRange?: readonly [number, number]
  readonly testid?: string
}

/** A live time-series chart (uPlot): created once, then fed new data in place. */
export function TimeChart(props: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const { t, series, format, height = 180, yRange } = props
  const data = [t.map((x) => x / 1000), ...series.map((s) => s.values.map((v) => v))] as unknown as uPlot.AlignedData
  const shape = series.map((s) => s.label).join('|')

  useEffect(() => {
    const el = box.current
    if (el === null) return
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: yRange !== undefined ? { range: [yRange[0], yRange[1]] } : { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(max ?? 1, 1e-9) * 1.1] } },
      axes: [
        { stroke: '#64748b', grid: { stroke: '#e2e8f0' }, ticks: { stroke: '#e2e8f0' }, values: (_u, vals) => vals.map((v) => formatClock(v)) },
        { stroke: '#64748b', grid: { stroke: '#e2e8f0' }, ticks: { stroke: '#e2e8f0' }, size: 70, values: (_u, vals) => vals.map((v) => format(v)) },
      ],
      series: [
        { value: (_u: uPlot, v: number | null) => (v === null ? '–' : formatClock(v)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(s.dash !== undefined && { dash: [...s.dash] }),
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
        })),
      ],
    }
    const u = new uPlot(opts, data, el)
    plot.current = u
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      u.destroy()
      plot.current = null
    }
    // The chart is rebuilt only when its series change; new data goes through setData below.
  }, [shape, height])

  useEffect(() => {
    plot.current?.setData(data)
  })

  return <div class="chart" ref={box} data-testid={props.testid} data-points={t.length} />
}
