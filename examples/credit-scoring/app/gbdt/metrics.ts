export interface BinaryMetrics {
  /** Area under the ROC curve: the probability that a random positive scores above a random negative (ties count half). */
  readonly auc: number
  /** Share of rows whose thresholded prediction equals the label. */
  readonly accuracy: number
  readonly logLoss: number
  readonly rows: number
  readonly positiveRate: number
}

/** AUC, accuracy at `threshold` and log loss of predicted probabilities against 0/1 labels. */
export function binaryMetrics(probabilities: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  checkLengths(probabilities, labels)
  const n = labels.length
  let correct = 0
  let loss = 0
  let positives = 0
  for (let i = 0; i < n; i++) {
    const p = probabilities[i] as number
    const y = labels[i] as number
    positives += y
    if ((p >= threshold ? 1 : 0) === y) correct++
    const q = Math.min(Math.max(p, 1e-15), 1 - 1e-15)
    loss -= y === 1 ? Math.log(q) : Math.log(1 - q)
  }
  return { auc: rocAuc(probabilities, labels), accuracy: n > 0 ? correct / n : NaN, logLoss: n > 0 ? loss / n : NaN, rows: n, positiveRate: n > 0 ? positives / n : NaN }
}

/**
 * ROC AUC by ranks (the Mann–Whitney U statistic), O(n log n): tied scores share their average
 * rank, which counts a tied positive–negative pair as half. NaN when a class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(scores, labels)
  const n = labels.length
  for (let i = 0; i < n; i++) if (Number.isNaN(scores[i])) throw new RangeError(`Score ${i} is NaN; AUC needs every row scored.`)
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number))
  let positives = 0
  let rankSum = 0
  for (let i = 0; i < n; ) {
    let j = i
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++
    const averageRank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number] === 1) {
        positives++
        rankSum += averageRank
      }
    }
    i = j + 1
  }
  const negatives = n - positives
  if (positives === 0 || negatives === 0) return NaN
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`Got ${a.length} predictions for ${b.length} labels.`)
  for (let i = 0; i < b.length; i++) {
    if (b[i] !== 0 && b[i] !== 1) throw new RangeError(`Labels must be 0 or 1; row ${i} has ${String(b[i])}.`)
  }
}
