/**
 * "Did you mean" hints for misspelt names: the candidates within a small edit distance,
 * closest first.
 */
export function suggest(input: string, candidates: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.floor(input.length / 3))
  const scored: Array<[string, number]> = []
  for (const candidate of candidates) {
    const d = editDistance(input.toLowerCase(), candidate.toLowerCase())
    if (d <= limit || candidate.toLowerCase().includes(input.toLowerCase())) scored.push([candidate, d])
  }
  scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
  return scored.slice(0, max).map(([c]) => c)
}

/** Appends ` Did you mean 'x' or 'y'?` when there is something to suggest. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const hits = suggest(input, candidates)
  if (hits.length === 0) return ''
  return ` Did you mean ${hits.map((h) => `'${h}'`).join(' or ')}?`
}

function editDistance(a: string, b: string): number {
  if (a === b) return 0
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
    }
    prev = cur
  }
  return prev[b.length] ?? 0
}
