import type { Command } from 'commander'
import { MorselError } from '../../errors/index.js'
import type { RunningFeatureServer } from '../../server/start-feature-server.js'
import { repoOptions } from '../context.js'

interface ServeOptions {
  readonly host?: string
  readonly port?: string
  readonly tlsCert?: string
  readonly tlsKey?: string
  readonly logLevel: string
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description("Serve the repository over HTTP: Feast's feature-server API (default port 6566)")
    .option('-H, --host <host>', 'address to listen on (default: `feature_server.host`, else 127.0.0.1)')
    .option('-p, --port <port>', 'port to listen on, 0 for any free port (default: `feature_server.port`, else 6566)')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--log-level <level>', 'fatal, error, warn, info (one line per request) or debug', 'info')
    .action(async (opts: ServeOptions, cmd: Command) => {
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
        throw new MorselError('MORSEL_USAGE', 'Give --tls-cert and --tls-key together.')
      }
      let port: number | undefined
      if (opts.port !== undefined) {
        port = Number(opts.port)
        if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new MorselError('MORSEL_USAGE', `--port ${opts.port}: give a port number from 0 to 65535.`)
      }
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(opts.logLevel)) {
        throw new MorselError('MORSEL_USAGE', `--log-level ${opts.logLevel}: use fatal, error, warn, info or debug.`)
      }
      // Loaded here, not at the top: Fastify, pino and prom-client would slow every other command's start.
      const { startFeatureServer } = await import('../../server/start-feature-server.js')
      const server = await startFeatureServer({
        ...repoOptions(cmd),
        ...(opts.host !== undefined && { host: opts.host }),
        ...(port !== undefined && { port }),
        ...(opts.tlsCert !== undefined && opts.tlsKey !== undefined && { tls: { certFile: opts.tlsCert, keyFile: opts.tlsKey } }),
        logLevel: opts.logLevel,
      })
      printBanner(server)
      await server.closed
    })
}

/** The URLs, for people; stdout carries the JSON logs. */
function printBanner(server: RunningFeatureServer): void {
  const { urls, store } = server
  const auth = store.config.featureServer.auth.type
  const lines = [
    `Morsel feature server for project '${store.project}' (online store: ${store.config.onlineStore.type})`,
    `  POST ${urls.getOnlineFeatures}`,
    `  POST ${urls.push}`,
    `  POST ${urls.base}/write-to-online-store`,
    `  POST ${urls.base}/materialize   POST ${urls.base}/materialize-incremental`,
    `  GET  ${urls.health}   GET ${urls.ready}   GET ${urls.metrics}`,
    ...(store.config.featureServer.console?.enabled !== false ? [`  Console  ${urls.base}/console/`] : []),
    ...(store.config.featureServer.apps ?? []).map((a) => `  App      ${urls.base}${a.path}/`),
    `Access control: ${auth === 'none' ? 'off (loopback only)' : auth}. Stop with Ctrl+C (in-flight requests are drained).`,
  ]
  process.stderr.write(`${lines.join('\n')}\n`)
}
