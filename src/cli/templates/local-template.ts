import { seededRandom } from '../../internal/random.js'

/** The repository `morsel init` writes: Feast's `local` template (driver statistics), in TypeScript. */
export function localTemplate(project: string, now: Date): Record<string, string> {
  return {
    'feature_store.yaml': `project: ${project}
# The registry: what \`morsel apply\` registered. Relative paths are relative to this folder.
registry:
  path: data/registry.json
  cache_ttl_seconds: 60
provider: local
# The embedded online store; see the README for Redis.
online_store:
  type: sqlite
  path: data/online.db
offline_store:
  type: duckdb
entity_key_serialization_version: 3
`,
    'features.ts': `import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, RequestSource, types } from 'morsel'

// A driver of a ride-hailing service, identified by driver_id.
export const driver = new Entity({ name: 'driver', joinKeys: ['driver_id'], valueType: types.Int64, description: 'A driver' })

// Hourly statistics per driver, in a CSV file (Parquet works the same way).
const driverStatsSource = new FileSource({
  name: 'driver_hourly_stats_source',
  path: 'data/driver_stats.csv',
  timestampField: 'event_timestamp',
  createdTimestampColumn: 'created',
})

// Values older than the ttl are served as OUTSIDE_MAX_AGE, never as if they were fresh.
export const driverHourlyStats = new FeatureView({
  name: 'driver_hourly_stats',
  entities: [driver],
  ttl: { days: 1 },
  schema: { conv_rate: types.Float32, acc_rate: types.Float32, avg_daily_trips: types.Int64 },
  source: driverStatsSource,
  tags: { team: 'driver_performance' },
})

// Values that arrive with each request.
export const valsToAdd = new RequestSource({
  name: 'vals_to_add',
  schema: { val_to_add: types.Int64, val_to_add_2: types.Int64 },
})

// Features computed at request time from stored features and request values.
export const transformedConvRate = new OnDemandFeatureView({
  name: 'transformed_conv_rate',
  sources: [driverHourlyStats, valsToAdd],
  schema: { conv_rate_plus_val1: types.Float64, conv_rate_plus_val2: types.Float64 },
  udf: (r) => ({
    conv_rate_plus_val1: r.conv_rate === null || r.val_to_add === null ? null : r.conv_rate + r.val_to_add,
    conv_rate_plus_val2: r.conv_rate === null || r.val_to_add_2 === null ? null : r.conv_rate + r.val_to_add_2,
  }),
})

// What a model consumes: the same set for training and serving.
export const driverActivityV1 = new FeatureService({
  name: 'driver_activity_v1',
  features: [driverHourlyStats.select(['conv_rate', 'acc_rate']), transformedConvRate],
})
`,
    'data/driver_stats.csv': driverStatsCsv(now),
    'README.md': `# ${project}

A Morsel feature repository made by \`morsel init\`.

\`\`\`sh
npx morsel -c ${project} apply                     # register features.ts
npx morsel -c ${project} write-to-online-store driver_hourly_stats ${project}/data/driver_stats.csv
npx morsel -c ${project} get-online-features -f driver_hourly_stats:conv_rate,transformed_conv_rate:conv_rate_plus_val1 \\
    -e driver_id=1001 -e val_to_add=10 -e val_to_add_2=20
\`\`\`
`,
  }
}

/** Hourly rows for five drivers over the three days before \`now\`. */
function driverStatsCsv(now: Date): string {
  const random = seededRandom(42)
  const end = Math.floor(now.getTime() / 3_600_000) * 3_600_000
  const lines = ['event_timestamp,driver_id,conv_rate,acc_rate,avg_daily_trips,created']
  for (let h = 72; h >= 0; h--) {
    const t = new Date(end - h * 3_600_000).toISOString()
    for (let d = 1001; d <= 1005; d++) {
      lines.push(`${t},${d},${random().toFixed(4)},${random().toFixed(4)},${Math.floor(random() * 1000)},${t}`)
    }
  }
  return `${lines.join('\n')}\n`
}
