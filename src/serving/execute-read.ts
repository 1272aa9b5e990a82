import { decodeTimestamp, decodeValue } from '../encoding/index.js'
import type { EntityCells, OnlineStore, OperationOptions } from '../online/online-store.js'
import type { EntityColumns } from './entity-input.js'
import { checkColumns } from './entity-input.js'
import { FieldStatus } from './field-status.js'
import { callUdf, udfOutput } from './on-demand.js'
import { OnlineResponse } from './online-response.js'
import type { ColumnPlan, ReadPlan } from './read-plan.js'

/**
 * Serves one request from a compiled plan: one store round trip, then decoding straight into
 * response columns. Each distinct entity is read and decoded once and fanned out to its rows.
 */
export async function executeRead(
  plan: ReadPlan,
  input: EntityColumns,
  store: OnlineStore,
  options?: OperationOptions,
): Promise<OnlineResponse> {
  checkColumns(input, plan.joinKeyNames, plan.requestFieldNames)
  const rowCount = input.rowCount
  const groups = plan.groups
  const keys: Uint8Array[][] = new Array<Uint8Array[]>(groups.length)
  const rowToKey: Int32Array[] = new Array<Int32Array>(groups.length)
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!
    const cols = group.joinKeys.map((k) => input.columns.get(k.name) as readonly unknown[])
    const values = new Array<unknown>(cols.length)
    const index = new Int32Array(rowCount)
    const unique: Uint8Array[] = []
    if (rowCount === 1) {
      for (let k = 0; k < cols.length; k++) values[k] = cols[k]![0]
      unique.push(group.encoder.encode(values))
    } else {
      const seen = new Map<string, number>()
      for (let r = 0; r < rowCount; r++) {
        for (let k = 0; k < cols.length; k++) values[k] = cols[k]![r]
        const key = group.encoder.encode(values)
        const id = key.toString('latin1')
        let at = seen.get(id)
        if (at === undefined) {
          at = unique.length
          seen.set(id, at)
          unique.push(key)
        }
        index[r] = at
      }
    }
    keys[g] = unique
    rowToKey[g] = index
  }

  const result = groups.length > 0 ? await store.read(plan.prepared, keys, options) : []
  const nowMicros = Date.now() * 1000
  const nColumns = plan.columns.length
  const nIn = input.names.length
  const values: unknown[][] = new Array<unknown[]>(nColumns)
  // Request columns first, then the plan's columns (assemble picks the visible ones).
  const allStatuses = statusColumns(nIn + nColumns, rowCount)
  const allTimes = timeColumns(nIn + nColumns, rowCount)
  const statuses = allStatuses.slice(nIn)
  const times = allTimes.slice(nIn)
  for (let c = 0; c < nColumns; c++) values[c] = new Array<unknown>(rowCount)

  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!
    const groupResult = result[g] ?? []
    const index = rowToKey[g]!
    const uniqueCount = keys[g]!.length
    const views = group.views
    for (let u = 0; u < uniqueCount; u++) {
      const cells: EntityCells | null = groupResult[u] ?? null
      let cell = 0
      for (let v = 0; v < views.length; v++) {
        const view = views[v]!
        const tsCell = cells === null ? null : cells[group.featureCells + v]
        const eventTime = tsCell === null || tsCell === undefined ? 0 : decodeTimestamp(tsCell)
        const stale = eventTime !== 0 && view.ttlMicros > 0 && nowMicros - eventTime > view.ttlMicros
        const viewCols = view.columns
        for (let f = 0; f < viewCols.length; f++, cell++) {
          const c = viewCols[f]!
          const bytes = cells === null || tsCell === null ? null : cells[cell]
          let value: unknown = null
          let status: number
          if (bytes === null || bytes === undefined) status = FieldStatus.NOT_FOUND
          else if (stale) status = FieldStatus.OUTSIDE_MAX_AGE
          else if (bytes.length === 0) status = FieldStatus.NULL_VALUE
          else {
            value = decodeValue(bytes, plan.columns[c]!.name)
            status = value === null ? FieldStatus.NULL_VALUE : FieldStatus.PRESENT
          }
          const time = status === FieldStatus.NOT_FOUND ? 0 : eventTime
          // Slot u holds entity u; fanOut spreads the slots to the rows when entities repeat.
          values[c]![u] = value
          statuses[c]![u] = status
          times[c]![u] = time
        }
      }
    }
    if (rowCount !== uniqueCount) {
      for (const view of views) {
        for (const c of view.columns) {
          fanOut(values[c]!, index)
          fanOut(statuses[c]!, index)
          fanOut(times[c]!, index)
        }
      }
    }
  }

  if (plan.onDemand.length > 0) runOnDemand(plan, input, values, statuses)
  return assemble(plan, input, values, allStatuses, allTimes)
}

/**
 * Spreads a column holding entity u at slot u to one value per row (row r gets entity index[r]),
 * in place, in one pass over the rows. Entity numbers are given in order of first appearance, so
 * index[r] <= r: walking the rows backwards, each slot is read before any row overwrites it.
 */
function fanOut<T>(column: { [i: number]: T; readonly length: number }, index: Int32Array): void {
  for (let r = column.length - 1; r >= 0; r--) column[r] = column[index[r]!]!
}

/**
 * One status and one event-time array per column. Typed arrays of up to 64 bytes live on V8's heap
 * and cost tens of nanoseconds; a larger one is a separate off-heap allocation of about a
 * microsecond, 500 of them for 100 entities × 250 features. So columns of larger responses are
 * views into one buffer per response.
 */
function statusColumns(count: number, rowCount: number): Uint8Array[] {
  const out = new Array<Uint8Array>(count)
  if (rowCount <= 64) {
    for (let c = 0; c < count; c++) out[c] = new Uint8Array(rowCount)
    return out
  }
  const block = new ArrayBuffer(count * rowCount)
  for (let c = 0; c < count; c++) out[c] = new Uint8Array(block, c * rowCount, rowCount)
  return out
}

function timeColumns(count: number, rowCount: number): Float64Array[] {
  const out = new Array<Float64Array>(count)
  if (rowCount <= 8) {
    for (let c = 0; c < count; c++) out[c] = new Float64Array(rowCount)
    return out
  }
  const block = new ArrayBuffer(count * rowCount * 8)
  for (let c = 0; c < count; c++) out[c] = new Float64Array(block, c * rowCount * 8, rowCount)
  return out
}

function runOnDemand(plan: ReadPlan, input: EntityColumns, values: unknown[][], statuses: Uint8Array[]): void {
  for (const odfv of plan.onDemand) {
    for (let r = 0; r < input.rowCount; r++) {
      const row: Record<string, unknown> = {}
      for (const i of odfv.inputs) {
        row[i.name] = 'column' in i ? values[i.column]![r] : (input.columns.get(i.requestField) as readonly unknown[])[r]
      }
      const out = callUdf(odfv.name, odfv.udf, row, `entity row ${r}`)
      for (const o of odfv.outputs) {
        const v = udfOutput(odfv.name, out, o.name, o.valueType)
        values[o.column]![r] = v
        statuses[o.column]![r] = v === null ? FieldStatus.NULL_VALUE : FieldStatus.PRESENT
      }
    }
  }
}

function assemble(plan: ReadPlan, input: EntityColumns, values: unknown[][], statuses: Uint8Array[], times: Float64Array[]): OnlineResponse {
  const rowCount = input.rowCount
  const nIn = input.names.length
  const nOut = nIn + plan.visibleColumns.length
  const names = new Array<string>(nOut)
  const outValues = new Array<readonly unknown[]>(nOut)
  const outStatus = new Array<Uint8Array>(nOut)
  const outTimes = new Array<Float64Array>(nOut)
  for (let i = 0; i < nIn; i++) {
    const name = input.names[i]!
    names[i] = name
    outValues[i] = input.columns.get(name)!
    outStatus[i] = statuses[i]!.fill(FieldStatus.PRESENT)
    outTimes[i] = times[i]!
  }
  for (let j = 0; j < plan.visibleColumns.length; j++) {
    const c = plan.visibleColumns[j]!
    names[nIn + j] = (plan.columns[c] as ColumnPlan).name
    outValues[nIn + j] = values[c]!
    outStatus[nIn + j] = statuses[nIn + c]!
    outTimes[nIn + j] = times[nIn + c]!
  }
  return new OnlineResponse(names, rowCount, outValues, outStatus, outTimes, nIn)
}
