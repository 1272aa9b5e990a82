import { describe, expect, it } from 'vitest'
import { histogramQuantile } from '../../../src/server/console/histogram-quantile.js'
import { MetricsSampler } from '../../../src/server/console/metrics-sampler.js'
import { ServerMetrics } from '../../../src/server/server-metrics.js'

describe('histogramQuantile', () => {
  const bounds = [0.001, 0.01, 0.1, Number.POSITIVE_INFINITY]

  it("interpolates inside the bucket where the rank falls, as Prometheus's histogram_quantile does", () => {
    // 10 observations ≤ 1 ms, 30 more ≤ 10 ms, 60 more ≤ 100 ms.
    const cumulative = [10, 40, 100, 100]
    expect(histogramQuantile(0.05, bounds, cumulative)).toBeCloseTo(0.0005, 12)
    // Rank 50 is the 10th of 60 in (10 ms, 100 ms].
    expect(histogramQuantile(0.5, bounds, cumulative)).toBeCloseTo(0.01 + (0.09 * 10) / 60, 12)
    expect(histogramQuantile(0.99, bounds, cumulative)).toBeCloseTo(0.01 + (0.09 * 59) / 60, 12)
    expect(histogramQuantile(1, bounds, cumulative)).toBeCloseTo(0.1, 12)
  })

  it('answers the largest finite bound for ranks in +Inf, and null for empty histograms', () => {
    expect(histogramQuantile(0.99, bounds, [0, 0, 1, 10])).toBe(0.1)
    expect(histogramQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNull()
    expect(histogramQuantile(0.5, [], [])).toBeNull()
  })
})

describe('MetricsSampler', () => {
  it('turns counter and histogram samples into rates, windowed quantiles, status ratios and totals', async () => {
    const metrics = new ServerMetrics({ processMetrics: false })
    const sampler = new MetricsSampler(metrics.registry, { intervalMs: 1000, historySeconds: 60, windowSamples: 2, storeType: 'redis', storeStatsIntervalSeconds: 15 })
    await sampler.sample()
    // Traffic between two samples: 8 feature reads (4 at 2 ms, 4 at 40 ms), console polling, probes.
    for (let i = 0; i < 4; i++) metrics.recordHttp('/get-online-features', 'POST', 200, 0.002)
    for (let i = 0; i < 4; i++) metrics.recordHttp('/get-online-features', 'POST', 200, 0.04)
    metrics.recordHttp('/push', 'POST', 200, 0.003)
    for (let i = 0; i < 5; i++) metrics.recordHttp('/console/api/timeseries', 'GET', 200, 0.001)
    metrics.recordHttp('/metrics', 'GET', 200, 0.001)
    metrics.recordHttp('/ready', 'GET', 200, 0.001)
    metrics.recordStoreHealth('redis', { ok: true, stats: { used_memory: 1_048_576, instantaneous_ops_per_sec: 250 } })
    await new Promise((r) => setTimeout(r, 20))
    await sampler.sample()

    const s = sampler.series()
    expect(s.t).toHaveLength(1)
    // Rates are counts over the window's seconds: the counts are exact whatever the timing.
    expect(s.requestRate[0]).toBeGreaterThan(0)
    expect(s.totals.requests).toBe(9)
    expect(s.totals.onlineRequests).toBe(8)
    const window = s.requestRate[0]! / 9
    expect(s.onlineRequestRate[0]! / 8).toBeCloseTo(window, 9)
    // p50 is the 4th of 8: the top of the (1 ms, 2.5 ms] bucket; p99 in (25 ms, 50 ms].
    expect(s.httpP50Ms[0]).toBeCloseTo(2.5, 9)
    expect(s.httpP99Ms[0]).toBeCloseTo(25 + (25 * (7.92 - 4)) / 4, 9)
    expect(s.storeUsedMemoryBytes).toEqual([1_048_576])
    expect(s.storeOpsPerSecond).toEqual([250])
    expect(s.totals).toMatchObject({ storeUsedMemoryBytes: 1_048_576, storeOpsPerSecond: 250, storeType: 'redis', storeStatsIntervalSeconds: 15 })
    // No values served yet: no ratio.
    expect(s.hitRatio).toEqual([null])
  })

  it('keeps only its history, and reports quantiles over the last window only', async () => {
    const metrics = new ServerMetrics({ processMetrics: false })
    const sampler = new MetricsSampler(metrics.registry, { intervalMs: 1000, historySeconds: 3, windowSamples: 1 })
    await sampler.sample()
    metrics.recordHttp('/get-online-features', 'POST', 200, 0.2)
    await sampler.sample()
    metrics.recordHttp('/get-online-features', 'POST', 200, 0.0002)
    await sampler.sample()
    let s = sampler.series()
    expect(s.httpP50Ms).toHaveLength(2)
    // The second window holds only the fast request.
    expect(s.httpP50Ms[0]).toBeGreaterThan(100)
    expect(s.httpP50Ms[1]).toBeLessThan(0.25)
    for (let i = 0; i < 10; i++) await sampler.sample()
    s = sampler.series()
    // 3 s of history at 1 s, plus the window's first sample.
    expect(s.t.length).toBe(3)
    expect(s.httpP50Ms.every((v) => v === null)).toBe(true)
    expect(s.totals.onlineRequests).toBe(2)
  })
})
