import type { OnDemandFeatureViewSpec } from '../definitions/specs.js'
import { MorselError } from '../errors/index.js'
import type { OnDemandUdf } from '../repo/repo-contents.js'
import { fitsType } from '../types/fits-type.js'
import type { ValueTypeCode } from '../types/value-type.js'

/**
 * On-demand functions this process has loaded, by the hash of their source. Looking a function up
 * by the hash the registry holds gives exactly the code that was applied, whatever the order in
 * which a new registry version and new repository code arrive.
 */
export type LoadedUdfs = ReadonlyMap<string, OnDemandUdf>

/** The function of a registered on-demand view, or an error saying how to get it loaded. */
export function resolveUdf(spec: OnDemandFeatureViewSpec, udfs: LoadedUdfs): OnDemandUdf {
  const udf = udfs.get(spec.udfHash)
  if (udf === undefined) {
    throw new MorselError(
      'MORSEL_DEFINITION_INVALID',
      `On-demand feature view '${spec.name}' is registered, but this process has not loaded the code that was applied for it (the repository's code differs from the registry, or does not load). Run \`morsel apply\` from the repository that defines it.`,
      { details: { onDemandFeatureView: spec.name } },
    )
  }
  return udf
}

/** Calls an on-demand function on one input row and checks what it returns is an object. */
export function callUdf(name: string, udf: OnDemandUdf, row: Record<string, unknown>, where: string): Record<string, unknown> {
  let out: Record<string, unknown>
  try {
    out = udf(row)
  } catch (err) {
    throw new MorselError('MORSEL_TRANSFORM_FAILED', `On-demand feature view '${name}' threw for ${where}: ${(err as Error).message}`, { cause: err })
  }
  if (out === null || typeof out !== 'object') {
    throw new MorselError('MORSEL_TRANSFORM_FAILED', `On-demand feature view '${name}' must return an object of its features, got ${out === null ? 'null' : typeof out}.`)
  }
  return out
}

/** One output of an on-demand function: null when missing, else checked against its declared type. */
export function udfOutput(name: string, out: Record<string, unknown>, feature: string, valueType: ValueTypeCode): unknown {
  const v = out[feature] ?? null
  if (v !== null && !fitsType(v, valueType)) {
    throw new MorselError(
      'MORSEL_TRANSFORM_FAILED',
      `On-demand feature view '${name}' returned ${JSON.stringify(v, bigintSafe)} for '${feature}', which does not fit its declared type.`,
    )
  }
  return v
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
