import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RegistrySnapshot } from '../../src/registry/registry-snapshot.js'
import { collectPageErrors, launchBrowser, type TestBrowser } from '../support/browser.js'
import { DEFINITIONS, ONLINE_STORE, get, post, startTestServer, type TestServer } from '../support/server-harness.js'

const READER_KEY = 'console-browser-key-8e4f1a2b'

/** The harness definitions with tags, descriptions and an owner, which the console must show. */
function taggedDefinitions(): string {
  const from = "name: 'zipcode_features', entities: [zipcode], ttl: { days: 36500 },"
  expect(DEFINITIONS).toContain(from)
  return DEFINITIONS.replace(from, `${from}\n  tags: { team: 'geo', source: 'census' }, description: 'Census statistics per ZIP code', owner: 'geo@example.com',`)
}

/** Every console page, what its URL hash is, and the screenshot it leaves. */
const PAGES: ReadonlyArray<readonly [string, string]> = [
  ['overview', ''],
  ['entities', 'entities'],
  ['feature-views', 'views'],
  ['on-demand-views', 'on-demand'],
  ['feature-services', 'services'],
  ['metrics', 'metrics'],
  ['lookup', 'lookup'],
  ['search', 'search?q=city'],
]

function ttlText(seconds: number): string {
  if (seconds === 0) return 'no limit'
  if (seconds === 86_400) return '1 day'
  return seconds % 86_400 === 0 ? `${seconds / 86_400} days` : `${seconds} s`
}

interface Series {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** The samples of one series name in /metrics (a counter, a gauge, or a histogram's `_count`), with their labels. */
async function scrape(url: string): Promise<(name: string) => Series[]> {
  const text = (await get(`${url}/metrics`)).text
  return (name) =>
    [...text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))].map((m) => ({
      labels: Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!])),
      value: Number(m[2]),
    }))
}

async function rowNames(page: Page, selector: string): Promise<string[]> {
  const rows = page.locator(`${selector} tr[data-row]`)
  const names: string[] = []
  for (let i = 0, n = await rows.count(); i < n; i++) names.push((await rows.nth(i).getAttribute('data-row')) ?? '')
  return names
}

async function statNumber(page: Page, stat: string): Promise<number> {
  const el = page.locator(`[data-stat="${stat}"]`).first()
  const raw = await el.getAttribute('data-raw')
  return Number(raw ?? (await el.innerText()).replaceAll(',', ''))
}

describe(`the console in a browser (${ONLINE_STORE})`, () => {
  let s: TestServer
  let browser: TestBrowser
  let snapshot: RegistrySnapshot

  beforeAll(async () => {
    s = await startTestServer({
      files: { 'features.ts': taggedDefinitions() },
      // Store figures sampled once at start, so the page and /metrics see the same ones; fast chart samples.
      featureServer: '  metrics:\n    store_stats_interval_seconds: 3600\n  console:\n    sample_interval_ms: 250\n',
    })
    await s.store.materialize({ start: new Date('2023-01-01T00:00:00Z'), end: new Date(), views: ['zipcode_features'] })
    // Traffic of every status: hits, misses, nulls (10001 has no city) and stale values (credit_flags is older than its ttl).
    for (let i = 0; i < 6; i++) {
      const res = await post(`${s.url}/get-online-features`, { feature_service: 'zipcode_service', entities: { zipcode: [76104, 99999, 10001] } })
      expect(res.status).toBe(200)
    }
    for (let i = 0; i < 3; i++) await post(`${s.url}/get-online-features`, { features: ['credit_flags:missed_payments_1y'], entities: { dob_ssn: ['19630621_4278'] } })
    snapshot = await s.store.registry.snapshot()
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await s?.close()
  })

  it('opens every page without an error in the page', async () => {
    const page = await browser.newPage()
    const errors = collectPageErrors(page)
    for (const [name, hash] of PAGES) {
      await page.goto(`${s.url}/console/#/${hash}`)
      await page.locator('.page-header h1').waitFor()
      await page.locator('.loading').first().waitFor({ state: 'detached' })
      expect(await page.locator('.error-box').count(), name).toBe(0)
    }
    expect(errors).toEqual([])
  })

  it('shows the project, registry version, stores and counts as the registry has them', async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/`)
    await expect.poll(() => page.locator('[data-testid=project]').innerText()).toBe(s.project)
    expect(await page.locator('h1').innerText()).toBe(s.project)
    expect(await statNumber(page, 'registry-version')).toBe(snapshot.version)
    await expect.poll(() => page.locator('[data-stat=online-store]').innerText()).toMatch(new RegExp(`${ONLINE_STORE}\\s+up`))
    expect(await page.locator('[data-stat=offline-store]').innerText()).toBe('duckdb')
    expect(await page.locator('[data-stat=auth]').innerText()).toBe('off')
    expect(await statNumber(page, 'count-entities')).toBe(snapshot.entities.size)
    expect(await statNumber(page, 'count-feature-views')).toBe(snapshot.featureViews.size)
    expect(await statNumber(page, 'count-on-demand')).toBe(snapshot.onDemandFeatureViews.size)
    expect(await statNumber(page, 'count-feature-services')).toBe(snapshot.featureServices.size)
    expect(await statNumber(page, 'count-data-sources')).toBe(snapshot.dataSources.size)
    await browser.screenshot(page, 'console-overview')
  })

  it('lists every entity with its join key, type and feature views', async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/#/entities`)
    await page.locator('[data-testid=entities]').waitFor()
    expect((await rowNames(page, '[data-testid=entities]')).sort()).toEqual([...snapshot.entities.keys()].sort())
    for (const e of snapshot.entities.values()) {
      const row = page.locator(`[data-testid=entities] tr[data-row="${e.name}"]`)
      const text = await row.innerText()
      expect(text).toContain(e.joinKey)
      expect(text).toContain(e.dtype)
      for (const v of snapshot.featureViews.values()) if (v.entities.includes(e.name)) expect(text).toContain(v.name)
    }
    await browser.screenshot(page, 'console-entities')
  })

  it("lists the feature views, and shows each one's schema, ttl, source, tags, materialization and freshness", async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/#/views`)
    await page.locator('[data-testid=feature-views]').waitFor()
    expect((await rowNames(page, '[data-testid=feature-views]')).sort()).toEqual([...snapshot.featureViews.keys()].sort())
    expect(await page.locator('[data-testid=feature-views] tr[data-row=zipcode_features]').innerText()).toMatch(/team\s*geo/)
    await browser.screenshot(page, 'console-feature-views')
    // The filter narrows the list by feature name.
    await page.getByLabel('Filter feature views').fill('missed_payments')
    const withMissedPayments = [...snapshot.featureViews.values()].filter((v) => v.features.some((f) => f.name.startsWith('missed_payments'))).map((v) => v.name)
    expect(withMissedPayments.length).toBeGreaterThan(0)
    await expect.poll(() => rowNames(page, '[data-testid=feature-views]')).toEqual(withMissedPayments)

    const served = (await scrape(s.url))('morsel_feature_values_served_total')
    for (const view of snapshot.featureViews.values()) {
      await page.goto(`${s.url}/console/#/views/${view.name}`)
      await expect.poll(() => page.locator('h1').innerText()).toBe(view.name)
      expect(await rowNames(page, '[data-testid=view-schema]')).toEqual(view.features.map((f) => f.name))
      const definition = await page.locator('[data-testid=view-definition]').innerText()
      expect(definition).toContain(ttlText(view.ttlSeconds))
      for (const [k, v] of Object.entries(view.tags)) expect(definition).toMatch(new RegExp(`${k}\\s*${v}`))
      if (view.owner !== '') expect(definition).toContain(view.owner)
      expect(await page.locator('[data-testid=view-source]').innerText()).toContain(view.source)
      const m = snapshot.materialization(view.name)
      const materialization = page.locator('[data-testid=view-materialization]')
      if (m.intervals.length === 0) expect(await materialization.innerText()).toContain('Never materialized')
      else {
        expect(await materialization.locator('[data-testid=intervals] tbody tr').count()).toBe(m.intervals.length)
        expect(Number((await materialization.locator('[data-stat=last-run-rows]').innerText()).replaceAll(',', ''))).toBe(m.lastRun!.rows)
        expect(Number((await materialization.locator('[data-stat=last-run-written]').innerText()).replaceAll(',', ''))).toBe(m.lastRun!.written)
      }
      // Values served per status: what /metrics says for this view.
      await page.locator('[data-testid=served]').waitFor()
      for (const status of ['PRESENT', 'NOT_FOUND', 'OUTSIDE_MAX_AGE', 'NULL_VALUE']) {
        const expected = served.find((x) => x.labels.feature_view === view.name && x.labels.status === status)?.value ?? 0
        expect(Number((await page.locator(`[data-stat="served-${status}"]`).innerText()).replaceAll(',', '')), `${view.name} ${status}`).toBe(expected)
      }
      await browser.screenshot(page, `console-feature-view-${view.name}`)
    }
  })

  it('shows the on-demand views with their sources, schema and function', async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/#/on-demand`)
    await page.locator('[data-testid=on-demand-views]').waitFor()
    expect(await rowNames(page, '[data-testid=on-demand-views]')).toEqual([...snapshot.onDemandFeatureViews.keys()])
    await browser.screenshot(page, 'console-on-demand-views')
    for (const o of snapshot.onDemandFeatureViews.values()) {
      await page.goto(`${s.url}/console/#/on-demand/${o.name}`)
      await page.locator('[data-testid=odfv-code]').waitFor()
      expect(await rowNames(page, '[data-testid=odfv-sources]')).toEqual(o.sources.map((x) => x.name))
      expect(await page.locator('[data-testid=odfv-code] code').innerText()).toBe(o.udfSource)
      for (const f of o.features) expect(await page.locator('.properties').innerText()).toContain(`${f.name} (${f.dtype})`)
      await browser.screenshot(page, `console-on-demand-view-${o.name}`)
    }
  })

  it('shows the feature services with the features of each view they take', async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/#/services`)
    await page.locator('[data-testid=feature-services]').waitFor()
    expect((await rowNames(page, '[data-testid=feature-services]')).sort()).toEqual([...snapshot.featureServices.keys()].sort())
    await browser.screenshot(page, 'console-feature-services')
    for (const svc of snapshot.featureServices.values()) {
      await page.goto(`${s.url}/console/#/services/${svc.name}`)
      await page.locator('[data-testid=service-features]').waitFor()
      expect(await rowNames(page, '[data-testid=service-features]')).toEqual(svc.projections.map((p) => p.view))
      for (const p of svc.projections) {
        expect(await page.locator(`[data-testid=service-features] tr[data-row="${p.view}"]`).innerText()).toContain(p.features.join(', '))
      }
    }
    await browser.screenshot(page, 'console-feature-service-credit_model_v1')
  })

  it('searches names, features and tags across the registry', async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/`)
    await page.getByLabel('Search the registry').fill('census')
    await page.getByLabel('Search the registry').press('Enter')
    await page.locator('[data-testid=search-results]').waitFor()
    expect(await rowNames(page, '[data-testid=search-results]')).toEqual(['zipcode_features'])
    await page.getByLabel('Search the registry').fill('city')
    await page.getByLabel('Search the registry').press('Enter')
    await expect.poll(() => page.locator('h1').innerText()).toBe('Search: city')
    const viewsWithCity = [...snapshot.featureViews.values()].filter((v) => v.features.some((f) => f.name.includes('city'))).map((v) => v.name)
    expect(await rowNames(page, '[data-testid=search-results]')).toEqual(viewsWithCity)
    await browser.screenshot(page, 'console-search')
  })

  it("shows the server's totals as /metrics has them, and draws every chart from the sampled history", async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/#/metrics`)
    await page.locator('[data-testid=chart-requests] canvas').waitFor()
    const metrics = await scrape(s.url)
    const http = metrics('morsel_http_request_duration_seconds_count')
    const count = (keep: (labels: Readonly<Record<string, string>>) => boolean): number => http.filter((m) => keep(m.labels)).reduce((n, m) => n + m.value, 0)
    const requests = count((l) => !l.route?.startsWith('/console') && !['/metrics', '/health', '/ready'].includes(l.route ?? ''))
    const online = count((l) => l.route === '/get-online-features' && l.method === 'POST')
    expect(online).toBe(9)
    const served = metrics('morsel_feature_values_served_total')
    const byStatus = (status: string): number => served.filter((m) => m.labels.status === status).reduce((n, m) => n + m.value, 0)
    // Each number appears once the sampler has taken a sample after the traffic.
    await expect.poll(() => statNumber(page, 'requests-total')).toBe(requests)
    expect(await statNumber(page, 'online-requests-total')).toBe(online)
    for (const status of ['PRESENT', 'NOT_FOUND', 'OUTSIDE_MAX_AGE', 'NULL_VALUE']) {
      expect(await statNumber(page, `served-${status}`), status).toBe(byStatus(status))
    }
    expect(byStatus('OUTSIDE_MAX_AGE')).toBe(3)
    expect(byStatus('NULL_VALUE')).toBeGreaterThan(0)
    const memory = metrics('morsel_online_store_used_memory_bytes')
    if (ONLINE_STORE === 'redis') {
      expect(memory.length).toBe(1)
      expect(await statNumber(page, 'store-memory')).toBe(memory[0]!.value)
    }
    for (const chart of ['chart-requests', 'chart-latency', 'chart-statuses', ...(ONLINE_STORE === 'redis' ? ['chart-store-memory', 'chart-store-ops'] : [])]) {
      const el = page.locator(`[data-testid=${chart}]`)
      expect(await el.locator('canvas').count(), chart).toBe(1)
      await expect.poll(async () => Number(await el.getAttribute('data-points')), { message: chart }).toBeGreaterThan(1)
    }
    // The legend names the series the charts draw.
    expect(await page.locator('[data-testid=chart-statuses] .u-legend').innerText()).toMatch(/hit[\s\S]*miss[\s\S]*stale/)
    // A few seconds of steady traffic, so that the screenshot shows the charts moving.
    for (let i = 0; i < 24; i++) {
      await post(`${s.url}/get-online-features`, { feature_service: 'zipcode_service', entities: { zipcode: i % 3 === 0 ? [99999] : [76104] } })
      await new Promise((r) => setTimeout(r, 125))
    }
    await expect.poll(() => statNumber(page, 'online-requests-total')).toBe(online + 24)
    await browser.screenshot(page, 'console-metrics')
  })

  it("looks up one entity's online features as getOnlineFeatures returns them, and NOT_FOUND for an unknown one", async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/#/lookup?zipcode=76104&dob_ssn=19630621_4278`)
    await page.locator('[data-testid=lookup-result]').waitFor()
    for (const view of ['zipcode_features', 'credit_history', 'credit_flags', 'profile']) {
      const spec = snapshot.getFeatureView(view)
      const keys = spec.entityColumns.map((c) => c.name)
      const res = await s.store.getOnlineFeatures({
        features: spec.features.map((f) => `${view}:${f.name}`),
        entityRows: [Object.fromEntries(keys.map((k) => [k, k === 'zipcode' ? 76104 : '19630621_4278']))],
      })
      const card = page.locator(`[data-testid="lookup-${view}"]`)
      for (const f of spec.features) {
        const row = card.locator(`tr[data-row="${f.name}"]`)
        expect(await row.locator('.badge').innerText(), `${view}.${f.name}`).toBe(res.status(f.name))
        const v = res.value(f.name)
        if (typeof v === 'string' || typeof v === 'number') expect(await row.locator('td.value').innerText()).toBe(String(v))
      }
    }
    expect(await page.locator('[data-testid="lookup-credit_flags"] tr[data-row=missed_payments_1y] .badge').innerText()).toBe('OUTSIDE_MAX_AGE')
    await browser.screenshot(page, 'console-lookup')

    await page.locator('input[name=zipcode]').fill('99999')
    await page.locator('input[name=dob_ssn]').fill('')
    await page.getByRole('button', { name: 'Read online features' }).click()
    await expect.poll(() => page.locator('[data-testid="lookup-zipcode_features"] .badge').allInnerTexts()).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND'])
    expect(await page.locator('[data-testid="lookup-credit_history"]').count()).toBe(0)
    expect(await page.locator('[data-testid=lookup-result]').innerText()).toContain('credit_history: needs dob_ssn')
    await browser.screenshot(page, 'console-lookup-not-found')

    await page.locator('input[name=zipcode]').fill('not-a-zip')
    await page.getByRole('button', { name: 'Read online features' }).click()
    await expect.poll(() => page.locator('.error-box').innerText()).toContain('MORSEL_ENTITY_KEY_INVALID')
  })
})

describe(`the console behind access control (${ONLINE_STORE})`, () => {
  let s: TestServer
  let browser: TestBrowser
  beforeAll(async () => {
    s = await startTestServer({ featureServer: `  auth:\n    type: api_key\n    api_keys:\n      - principal: reader\n        key: ${READER_KEY}\n` })
    browser = await launchBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await s?.close()
  })

  it('asks for a key, then shows the pages with the key it was given', async () => {
    const page = await browser.newPage()
    await page.goto(`${s.url}/console/#/views`)
    await expect.poll(() => page.locator('.error-box').innerText()).toContain('MORSEL_UNAUTHENTICATED')
    expect(await page.locator('.error-box').innerText()).toContain('Enter an API key or token')
    await browser.screenshot(page, 'console-auth-required')

    await page.getByLabel('API key or token').fill('wrong-key-0000000000')
    await page.getByRole('button', { name: 'Use' }).click()
    await expect.poll(() => page.locator('.error-box').innerText()).toContain('not valid')

    await page.getByLabel('API key or token').fill(READER_KEY)
    await page.getByRole('button', { name: 'Use' }).click()
    await page.locator('[data-testid=feature-views]').waitFor()
    await expect.poll(() => page.locator('[data-testid=principal]').innerText()).toBe('signed in as reader')
    expect(await page.locator('[data-testid=project]').innerText()).toBe(s.project)
    expect(await page.locator('.error-box').count()).toBe(0)
    await browser.screenshot(page, 'console-auth-signed-in')
  })
})
