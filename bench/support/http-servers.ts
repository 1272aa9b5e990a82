/**
 * The two servers of the HTTP part, each started as its own process:
 * `node http-servers.js morsel <repo>` or `node http-servers.js bare <repo> <project> <redis>`.
 * Each prints `PORT <n>` once it listens.
 *
 * bare: node:http and node-redis doing the raw work of a request with nothing else: parse the body,
 * build the keys, one pipelined HMGET per entity and key group (the fields Morsel reads), decode
 * the Value and Timestamp protobufs and answer the same Feast JSON. No validation, no registry,
 * no logging, no metrics: the floor a feature server on Node sits on.
 */
import { createServer } from 'node:http'
import { createClient, RESP_TYPES, type RedisArgument } from 'redis'
import { decodeTimestamp, decodeValue } from '../../src/encoding/index.js'
import { formatMicros } from '../../src/internal/time.js'
import { startFeatureServer } from '../../src/server/start-feature-server.js'
import { hmgetFields, redisKey, SHAPES, type Shape } from './dataset.js'

const EPOCH = '"1970-01-01T00:00:00Z"'

function jsonValue(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

async function bare(project: string, address: string): Promise<void> {
  const redis = createClient({ url: `redis://${address}`, RESP: 3, commandOptions: { timeout: 0 } }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  await redis.connect()
  interface Plan {
    readonly shape: Shape
    readonly fields: Buffer[][]
    readonly names: string
  }
  const plans = new Map<string, Plan>()
  for (const s of SHAPES) {
    const keyNames = [...new Set(s.groups.flatMap((g) => g.joinKeys.map((k) => k.name)))]
    const featureNames = s.groups.flatMap((g) => g.views.flatMap((v) => v.features.map((f) => f.name)))
    plans.set(`${s.features.length}:${s.features[0]}`, { shape: s, fields: s.groups.map((g) => hmgetFields(g)), names: `{"metadata":{"feature_names":${JSON.stringify([...keyNames, ...featureNames])}},"results":[` })
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { features: string[]; entities: Record<string, Array<number | string>> }
      const plan = plans.get(`${body.features.length}:${body.features[0]}`)!
      const s = plan.shape
      // 1x50 and 100x50 ask for the same features: the entity count comes from the request.
      const rowCount = Object.values(body.entities)[0]!.length
      const pending: Array<Promise<unknown>> = []
      for (let g = 0; g < s.groups.length; g++) {
        const group = s.groups[g]!
        for (let r = 0; r < rowCount; r++) {
          const key = redisKey(
            group,
            group.joinKeys.map((k) => body.entities[k.name]![r]!),
            project,
          )
          pending.push(redis.sendCommand(['HMGET', key, ...plan.fields[g]!] as RedisArgument[]))
        }
      }
      void Promise.all(pending).then((replies) => {
        let out = plan.names
        let first = true
        for (const [name, values] of Object.entries(body.entities)) {
          out += `${first ? '' : ','}{"values":[${values.map(jsonValue).join(',')}],"statuses":[${values.map(() => '"PRESENT"').join(',')}],"event_timestamps":[${values.map(() => EPOCH).join(',')}]}`
          first = false
          void name
        }
        let at = 0
        for (let g = 0; g < s.groups.length; g++) {
          const group = s.groups[g]!
          const rows = replies.slice(at, at + rowCount) as Array<Array<Buffer | null>>
          at += rowCount
          const nFeatures = group.views.reduce((n, v) => n + v.features.length, 0)
          // Each view's event time, formatted once per row.
          const times = rows.map((cells) =>
            group.views.map((_, v) => {
              const ts = cells[nFeatures + v]
              return ts === null || ts === undefined ? EPOCH : `"${formatMicros(decodeTimestamp(ts))}"`
            }),
          )
          let f = 0
          for (let v = 0; v < group.views.length; v++) {
            for (let j = 0; j < group.views[v]!.features.length; j++, f++) {
              let values = ''
              let statuses = ''
              let stamps = ''
              for (let r = 0; r < rows.length; r++) {
                const cell = rows[r]![f]
                const sep = r === 0 ? '' : ','
                values += sep + (cell === null || cell === undefined ? 'null' : jsonValue(decodeValue(cell)))
                statuses += sep + (cell === null || cell === undefined ? '"NOT_FOUND"' : '"PRESENT"')
                stamps += sep + times[r]![v]!
              }
              out += `,{"values":[${values}],"statuses":[${statuses}],"event_timestamps":[${stamps}]}`
            }
          }
        }
        out += ']}'
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out)
      })
    })
  })
  server.keepAliveTimeout = 72_000
  server.listen(0, '127.0.0.1', () => console.log(`PORT ${(server.address() as { port: number }).port}`))
}

const [kind, repo, project, address] = process.argv.slice(2)
if (kind === 'morsel') {
  const server = await startFeatureServer({ repoPath: repo!, host: '127.0.0.1', port: 0, logLevel: 'warn' })
  console.log(`PORT ${new URL(server.urls.base).port}`)
} else {
  await bare(project!, address!)
}
