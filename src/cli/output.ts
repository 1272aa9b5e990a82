/** Prints rows as an aligned text table, the way `feast … list` does. */
export function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, out: NodeJS.WritableStream = process.stdout): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  out.write(`${line(headers)}\n`)
  for (const r of rows) out.write(`${line(r)}\n`)
}

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`)
}

export function formatTtl(seconds: number): string {
  if (seconds === 0) return 'none'
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`
  if (seconds % 60 === 0) return `${seconds / 60}m`
  return `${seconds}s`
}
