import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * Real Redis deployments for tests, started on free ports in temporary folders and stopped at the
 * end: a plain server, a 3-master/3-replica cluster, a TLS-only server with ACL users, and a
 * master + replica + sentinel trio. Each test file starts what it needs in `beforeAll` (servers
 * start in about a second, a cluster in a few), so a run that does not touch them pays nothing.
 *
 * Leftovers: every process is recorded in a registry file named after the test worker; a worker
 * that died without stopping its servers is found by the next harness use, which stops those
 * servers (checking each pid still runs redis-server from that folder) and removes the folders.
 */

const execFileAsync = promisify(execFile)
const ROOT = join(tmpdir(), 'morsel-test-redis')
const REGISTRY = join(ROOT, 'registry')
const registryFile = join(REGISTRY, `${process.pid}-${randomBytes(3).toString('hex')}.json`)
const running = new Map<number, { pid: number; dir: string }>()
let swept = false

export interface RedisServer {
  readonly port: number
  readonly dir: string
  /** `127.0.0.1:<port>` */
  readonly address: string
  stop(): Promise<void>
  /** Starts it again on the same port with the same folder (a cluster node keeps its identity). */
  restart(): Promise<void>
  /** SIGKILL: the process dies at once, as on a crash or a lost host; waits for it to be gone. */
  kill(): Promise<void>
  /** SIGSTOP: the server keeps its connections but answers nothing, like a hung host. */
  pause(): void
  resume(): void
  log(): string
}

interface StartOptions {
  readonly name: string
  readonly port?: number
  /** redis.conf lines besides port, bind, dir and logfile. */
  readonly conf?: readonly string[]
  readonly sentinel?: boolean
  /** The log line that means the server accepts connections. */
  readonly ready?: RegExp
  /** Port to write into `port` (0 for a TLS-only server whose `tls-port` is set in `conf`). */
  readonly plainPort?: number
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function saveRegistry(): void {
  mkdirSync(REGISTRY, { recursive: true })
  if (running.size === 0) {
    if (existsSync(registryFile)) unlinkSync(registryFile)
    return
  }
  writeFileSync(registryFile, JSON.stringify({ owner: process.pid, servers: [...running.values()] }))
}

/** Stops servers that an earlier, crashed test worker left running, and removes their folders. */
function sweepLeftovers(): void {
  if (swept) return
  swept = true
  if (!existsSync(REGISTRY)) return
  for (const file of readdirSync(REGISTRY)) {
    const path = join(REGISTRY, file)
    let entry: { owner: number; servers: Array<{ pid: number; dir: string }> }
    try {
      entry = JSON.parse(readFileSync(path, 'utf8')) as typeof entry
    } catch {
      continue
    }
    if (alive(entry.owner)) continue
    for (const s of entry.servers) {
      let cmdline = ''
      try {
        cmdline = readFileSync(`/proc/${s.pid}/cmdline`, 'utf8')
      } catch {
        // Gone already.
      }
      if (cmdline.includes('redis-server') && cmdline.includes(s.dir)) {
        try {
          process.kill(s.pid, 'SIGKILL')
        } catch {
          // Exited meanwhile.
        }
      }
      rmSync(s.dir, { recursive: true, force: true })
    }
    rmSync(path, { force: true })
  }
}

process.on('exit', () => {
  for (const { pid } of running.values()) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Already stopped.
    }
  }
  if (existsSync(registryFile)) rmSync(registryFile, { force: true })
})

/** A TCP port nobody listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port whose cluster bus port (port + 10000) is free as well. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 15_000)
    if (taken.has(port) || taken.has(port + 10_000)) continue
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) {
      taken.add(port)
      taken.add(port + 10_000)
      return port
    }
  }
  throw new Error('no free port pair for a cluster node')
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (err) {
      lastError = err
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`)
}

/** Runs redis-cli and returns its output (trimmed). */
export async function redisCli(args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', [...args], { timeout: 10_000 })
  return stdout.trim()
}

export async function startRedis(options: StartOptions): Promise<RedisServer> {
  sweepLeftovers()
  mkdirSync(ROOT, { recursive: true })
  const dir = mkdtempSync(join(ROOT, `${options.name}-`))
  const port = options.port ?? (await freePort())
  const logfile = join(dir, 'redis.log')
  const conf = join(dir, options.sentinel === true ? 'sentinel.conf' : 'redis.conf')
  const lines = [`port ${options.plainPort ?? port}`, 'bind 127.0.0.1', `dir ${dir}`, `logfile ${logfile}`, 'daemonize no']
  if (options.sentinel !== true) lines.push('save ""', 'appendonly no')
  writeFileSync(conf, [...lines, ...(options.conf ?? [])].join('\n') + '\n')
  const ready = options.ready ?? /Ready to accept connections/

  let proc: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  const log = (): string => (existsSync(logfile) ? readFileSync(logfile, 'utf8') : '')

  const launch = async (): Promise<void> => {
    const before = log().length
    const child = spawn('redis-server', options.sentinel === true ? [conf, '--sentinel'] : [conf], { stdio: 'ignore' })
    proc = child
    let gone = false
    exited = new Promise((resolve) => child.once('exit', () => {
      gone = true
      resolve()
    }))
    running.set(child.pid!, { pid: child.pid!, dir })
    saveRegistry()
    await waitFor(`${options.name} on port ${port} to start`, () => {
      if (gone) throw new Error(`redis-server exited at start; log:\n${log().slice(before).slice(-2000)}`)
      return ready.test(log().slice(before)) ? true : undefined
    })
  }

  const stop = async (): Promise<void> => {
    const child = proc
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
    running.delete(child.pid!)
    saveRegistry()
  }

  const kill = async (): Promise<void> => {
    const child = proc
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGKILL')
    await exited
    running.delete(child.pid!)
    saveRegistry()
  }

  await launch()
  return {
    port,
    dir,
    address: `127.0.0.1:${port}`,
    stop,
    kill,
    restart: async () => {
      await stop()
      await launch()
    },
    pause: () => proc?.kill('SIGSTOP'),
    resume: () => proc?.kill('SIGCONT'),
    log,
  }
}

/** Stops the servers and removes their folders. */
async function stopAll(servers: readonly RedisServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()))
  for (const s of servers) rmSync(s.dir, { recursive: true, force: true })
}

export interface RedisClusterDeployment {
  readonly nodes: readonly RedisServer[]
  /** Feast's form: `127.0.0.1:p1,127.0.0.1:p2,…` */
  readonly seeds: string
  /** Waits until every node reports `cluster_state:ok`. */
  waitHealthy(): Promise<void>
  stop(): Promise<void>
}

/** Three masters with one replica each, as `redis-cli --cluster create` builds them. */
export async function startRedisCluster(): Promise<RedisClusterDeployment> {
  const taken = new Set<number>()
  const ports: number[] = []
  for (let i = 0; i < 6; i++) ports.push(await freeClusterPort(taken))
  const nodes = await Promise.all(
    ports.map((port) =>
      startRedis({
        name: 'cluster',
        port,
        conf: ['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 3000', 'repl-diskless-sync yes', 'repl-diskless-sync-delay 0'],
      }),
    ),
  )
  try {
    await redisCli(['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '1', '--cluster-yes'])
    const deployment: RedisClusterDeployment = {
      nodes,
      seeds: nodes.map((n) => n.address).join(','),
      waitHealthy: async () => {
        for (const n of nodes) {
          await waitFor(`cluster node ${n.port} to be ok`, async () => ((await redisCli(['-p', String(n.port), 'CLUSTER', 'INFO'])).includes('cluster_state:ok') ? true : undefined))
        }
        // Replicas synced, so reads from them see what was written before.
        await waitFor('cluster replicas to sync', async () => {
          let synced = 0
          for (const n of nodes) {
            const info = await redisCli(['-p', String(n.port), 'INFO', 'replication'])
            if (info.includes('role:slave') && info.includes('master_link_status:up')) synced++
          }
          return synced === 3 ? true : undefined
        })
      },
      stop: () => stopAll(nodes),
    }
    await deployment.waitHealthy()
    return deployment
  } catch (err) {
    await stopAll(nodes)
    throw err
  }
}

/**
 * A new, empty master joined to a running cluster (`redis-cli --cluster add-node`), owning no slots
 * until some are moved to it. The caller stops it.
 */
export async function addClusterMaster(cluster: RedisClusterDeployment): Promise<RedisServer & { readonly id: string }> {
  const taken = new Set<number>(cluster.nodes.flatMap((n) => [n.port, n.port + 10_000]))
  const port = await freeClusterPort(taken)
  const node = await startRedis({
    name: 'cluster',
    port,
    conf: ['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 3000', 'repl-diskless-sync yes', 'repl-diskless-sync-delay 0'],
  })
  try {
    await redisCli(['--cluster', 'add-node', node.address, cluster.nodes[0]!.address])
    const id = await redisCli(['-p', String(port), 'CLUSTER', 'MYID'])
    await waitFor('the cluster to know its new master', async () => {
      for (const n of cluster.nodes) {
        const nodes = await redisCli(['-p', String(n.port), 'CLUSTER', 'NODES']).catch(() => '')
        if (nodes !== '' && !nodes.includes(id)) return undefined
      }
      return (await redisCli(['-p', String(port), 'CLUSTER', 'INFO'])).includes('cluster_state:ok') ? true : undefined
    })
    return Object.assign(node, { id })
  } catch (err) {
    await stopAll([node])
    throw err
  }
}

export interface TestCertificates {
  readonly dir: string
  readonly caFile: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
  /** A CA that signed nothing here: trusting it must fail verification. */
  readonly otherCaFile: string
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  await execFileAsync('openssl', [...args], { cwd, timeout: 20_000 })
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made now. */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await openssl(['req', '-x509', '-new', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Morsel Test CA'], dir)
  await openssl(['req', '-x509', '-new', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=Other CA'], dir)
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n')
  for (const who of ['server', 'client']) {
    await openssl(['req', '-new', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'morsel-client'}`], dir)
    await openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '2', '-extfile', `${who}.ext`], dir)
  }
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
  }
}

export interface TlsRedisDeployment {
  readonly server: RedisServer
  readonly port: number
  readonly certs: TestCertificates
  /** The user holding exactly the rule given; its password. */
  readonly user: string
  readonly password: string
  /** A user with every right, for test setup. */
  readonly adminPassword: string
  stop(): Promise<void>
}

/**
 * A server that only speaks TLS and requires client certificates, whose default user is off:
 * `morsel` holds `rule`, `admin` holds everything, and `users` adds more (name → rule).
 */
export async function startTlsRedis(rule: string, users: Readonly<Record<string, string>> = {}): Promise<TlsRedisDeployment> {
  mkdirSync(ROOT, { recursive: true })
  const certDir = mkdtempSync(join(ROOT, 'certs-'))
  const certs = await makeCertificates(certDir)
  const port = await freePort()
  const password = randomBytes(12).toString('hex')
  const adminPassword = randomBytes(12).toString('hex')
  const server = await startRedis({
    name: 'tls',
    port,
    plainPort: 0,
    conf: [
      `tls-port ${port}`,
      `tls-cert-file ${certs.serverCert}`,
      `tls-key-file ${certs.serverKey}`,
      `tls-ca-cert-file ${certs.caFile}`,
      'tls-auth-clients yes',
      'user default off',
      `user admin on >${adminPassword} ~* &* +@all`,
      `user morsel on >${password} ${rule}`,
      ...Object.entries(users).map(([name, r]) => `user ${name} on >${password} ${r}`),
    ],
  })
  return {
    server,
    port,
    certs,
    user: 'morsel',
    password,
    adminPassword,
    stop: async () => {
      await stopAll([server])
      rmSync(certDir, { recursive: true, force: true })
    },
  }
}

export interface SentinelDeployment {
  readonly master: RedisServer
  readonly replica: RedisServer
  readonly sentinel: RedisServer
  readonly masterName: string
  stop(): Promise<void>
}

/** A master, a replica of it, and one sentinel watching them (quorum 1). */
export async function startRedisSentinel(masterName = 'mymaster'): Promise<SentinelDeployment> {
  const master = await startRedis({ name: 'sentinel-master' })
  const replica = await startRedis({ name: 'sentinel-replica', conf: [`replicaof 127.0.0.1 ${master.port}`, 'repl-diskless-sync yes'] })
  const servers = [master, replica]
  try {
    await waitFor('the replica to sync', async () =>
      (await redisCli(['-p', String(replica.port), 'INFO', 'replication'])).includes('master_link_status:up') ? true : undefined,
    )
    const sentinel = await startRedis({
      name: 'sentinel',
      sentinel: true,
      conf: [`sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${masterName} 3000`],
      ready: /\+monitor master/,
    })
    servers.push(sentinel)
    await waitFor('the sentinel to see the replica', async () => {
      const replicas = await redisCli(['-p', String(sentinel.port), 'SENTINEL', 'REPLICAS', masterName])
      return replicas.includes(String(replica.port)) && !/s_down|disconnected/.test(replicas) ? true : undefined
    })
    return { master, replica, sentinel, masterName, stop: () => stopAll(servers) }
  } catch (err) {
    await stopAll(servers)
    throw err
  }
}

/** A plain server the test may stop, restart and pause. */
export async function startPlainRedis(conf: readonly string[] = []): Promise<RedisServer & { remove(): Promise<void> }> {
  const server = await startRedis({ name: 'plain', conf })
  return Object.assign(server, { remove: () => stopAll([server]) })
}
