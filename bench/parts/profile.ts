import { join } from 'node:path'
import { FeatureStore } from '../../src/index.js'
import type { BenchContext } from '../support/context.js'
import { formatFrames, profileInProcess, topFrames } from '../support/cpu-profile.js'
import { makeRequests, SHAPES } from '../support/dataset.js'
import { timeSequential } from './read.js'

/**
 * `npm run bench -- profile <shape>`: in-process `getOnlineFeatures` of one shape under the V8
 * sampling profiler for a few seconds. Prints the functions with the most self time and saves the
 * `.cpuprofile` (open it in Chrome DevTools or speedscope for the flame graph).
 */
export async function runProfile(ctx: BenchContext, shapeId: string, resultsDir: string, root: string): Promise<string> {
  const s = SHAPES.find((x) => x.id === shapeId)
  if (s === undefined) throw new Error(`No shape '${shapeId}'; shapes: ${SHAPES.map((x) => x.id).join(', ')}.`)
  const { repo } = await ctx.standalone()
  const store = await FeatureStore.open(repo.path)
  try {
    const requests = makeRequests(s, repo.entities, 1000, 11)
    const call = (i: number): Promise<unknown> => store.getOnlineFeatures({ features: s.features, entities: requests[i % requests.length]! })
    await timeSequential(2000, call)
    const n = s.rows === 1 ? 30_000 : 1_500
    const file = join(resultsDir, `profile-read-${s.id}.cpuprofile`)
    const profile = await profileInProcess(file, async () => void (await timeSequential(n, call)))
    return `### Profile: in-process getOnlineFeatures, ${s.label}\n\n${n} reads; saved to ${file}\n\n${formatFrames(topFrames(profile, root))}\n`
  } finally {
    await store.close()
  }
}
