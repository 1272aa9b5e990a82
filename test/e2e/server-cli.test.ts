import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FeatureStore } from '../../src/index.js'
import { makeTestRepo, post, writeSampleRows } from '../support/server-harness.js'
import { uniqueProject } from '../support/temp-repo.js'

const BIN = resolve('bin/morsel.js')

interface Served {
  readonly child: ChildProcess
  readonly url: Promise<string>
  readonly exited: Promise<number>
  stdout: string
  stderr: string
}

function morselServe(args: readonly string[]): Served {
  if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests.')
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const served: Served = {
    child,
    stdout: '',
    stderr: '',
    url: new Promise((resolveUrl, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        served.stderr += c.toString()
        const m = /POST (https?:\/\/\S+)\/get-online-features/.exec(served.stderr)
        if (m !== null) resolveUrl(m[1]!)
      })
      child.once('exit', (code) => reject(new Error(`morsel serve exited with ${code}: ${served.stderr}`)))
    }),
    exited: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code ?? -1))),
  }
  served.url.catch(() => undefined)
  child.stdout.on('data', (c: Buffer) => {
    served.stdout += c.toString()
  })
  return served
}

describe('morsel serve', () => {
  let repo: string
  beforeAll(async () => {
    repo = await makeTestRepo(uniqueProject('cli'))
    const store = await FeatureStore.open(repo)
    await store.apply()
    await writeSampleRows(store)
    await store.close()
  })
  afterAll(async () => {
    const store = await FeatureStore.open(repo)
    await store.teardown()
    await store.close()
  })

  it('serves until SIGTERM, prints its URLs, logs JSON lines with request ids, and exits 0', async () => {
    const served = morselServe(['serve', '-c', repo, '--port', '0'])
    const url = await served.url
    expect(served.stderr).toContain(`${url}/metrics`)
    const res = await post(`${url}/get-online-features`, { features: ['zipcode_features:city'], entities: { zipcode: [76104] } })
    expect(res.body.results[1].values).toEqual(['FORT WORTH'])
    served.child.kill('SIGTERM')
    expect(await served.exited).toBe(0)
    const lines = served.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ method: 'POST', url: '/get-online-features', status: 200, reqId: expect.any(String) })
    expect(lines.at(-1)?.msg).toBe('feature server stopped')
  })

  it('refuses to listen beyond loopback with access control off, naming the setting (exit 3)', async () => {
    const served = morselServe(['serve', '-c', repo, '--host', '0.0.0.0', '--port', '0'])
    expect(await served.exited).toBe(3)
    expect(served.stderr).toContain('MORSEL_CONFIG_INVALID')
    expect(served.stderr).toContain('`feature_server.auth.type`')
  })

  it('checks its options (exit 2)', async () => {
    const badPort = morselServe(['serve', '-c', repo, '--port', 'http'])
    expect(await badPort.exited).toBe(2)
    expect(badPort.stderr).toContain('--port')
    const halfTls = morselServe(['serve', '-c', repo, '--tls-cert', 'cert.pem'])
    expect(await halfTls.exited).toBe(2)
    expect(halfTls.stderr).toContain('--tls-key')
  })
})
