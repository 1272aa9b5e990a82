import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

/** Debian's Chromium; tests never download a browser. */
export const CHROMIUM = process.env.MORSEL_CHROMIUM ?? '/usr/bin/chromium'

/** Where screenshots go: git-ignored, kept after the run for people to look at. */
export const ARTIFACTS_DIR = resolve(import.meta.dirname, '../../.test-artifacts/screenshots')

export interface TestBrowser {
  readonly browser: Browser
  /** A new page (its own context: no shared storage), with the size screenshots are taken at. */
  newPage(): Promise<Page>
  /** Writes a full-page screenshot to .test-artifacts/screenshots/<name>.png and returns its path. */
  screenshot(page: Page, name: string): Promise<string>
  close(): Promise<void>
}

/**
 * Launches headless Chromium from Debian's `chromium` package. Missing, it fails the test with
 * the way to install it (never skips).
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does it), or set MORSEL_CHROMIUM to its path.`)
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // Playwright gives every launch a fresh temporary profile (--user-data-dir) and removes it on close.
  })
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  return {
    browser,
    async newPage() {
      const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 })
      const page = await context.newPage()
      page.setDefaultTimeout(20_000)
      return page
    },
    async screenshot(page, name) {
      const file = join(ARTIFACTS_DIR, `${name}.png`)
      await page.screenshot({ path: file, fullPage: true })
      return file
    },
    async close() {
      await browser.close()
    },
  }
}

/** Console errors and failed requests of a page, to assert that a page loaded cleanly. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console error: ${msg.text()}`)
  })
  page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`))
  return errors
}
