import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { relative } from 'node:path'

/** The parts of V8's `.cpuprofile` format the summary reads. */
interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
    readonly children?: readonly number[]
  }>
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface Frame {
  readonly name: string
  readonly where: string
  /** Share of all samples spent in the function itself. */
  readonly selfShare: number
  /** Share of samples with the function anywhere on the stack. */
  readonly totalShare: number
}

/** Profiles `work` in this process with the inspector (sampling every 100 µs) and saves the profile. */
export async function profileInProcess(file: string, work: () => Promise<void>): Promise<CpuProfile> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  try {
    await work()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    writeFileSync(file, JSON.stringify(profile))
  }
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
}

/** The functions with the most self time, with their inclusive share: the top of a flame graph, flattened. */
export function topFrames(profile: CpuProfile, root: string, limit = 25): Frame[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const key = (id: number): string => {
    const f = byId.get(id)!.callFrame
    const url = f.url.startsWith('file://') ? relative(root, f.url.slice(7)) : f.url
    return `${f.functionName || '(anonymous)'}\u0000${url}:${f.lineNumber + 1}`
  }
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let count = 0
  for (const id of profile.samples) {
    count++
    const k = key(id)
    self.set(k, (self.get(k) ?? 0) + 1)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const kk = key(at)
      if (seen.has(kk)) continue
      seen.add(kk)
      total.set(kk, (total.get(kk) ?? 0) + 1)
    }
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, n]) => {
      const [name, where] = k.split('\u0000') as [string, string]
      return { name, where, selfShare: n / count, totalShare: (total.get(k) ?? 0) / count }
    })
}

export function formatFrames(frames: readonly Frame[]): string {
  const lines = ['| self | total | function | where |', '| ---: | ---: | --- | --- |']
  for (const f of frames) lines.push(`| ${(f.selfShare * 100).toFixed(1)}% | ${(f.totalShare * 100).toFixed(1)}% | ${f.name} | ${f.where} |`)
  return lines.join('\n')
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
}
