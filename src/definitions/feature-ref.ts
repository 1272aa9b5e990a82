import { MorselError } from '../errors/index.js'

/** A parsed Feast feature reference `view:feature`. */
export interface FeatureRef {
  readonly view: string
  readonly feature: string
}

export function parseFeatureRef(ref: unknown): FeatureRef {
  if (typeof ref === 'string') {
    const i = ref.indexOf(':')
    if (i > 0 && i < ref.length - 1 && ref.indexOf(':', i + 1) === -1) {
      return { view: ref.slice(0, i), feature: ref.slice(i + 1) }
    }
  }
  throw new MorselError(
    'MORSEL_FEATURE_REF_INVALID',
    `Feature reference ${JSON.stringify(ref)} is not of the form 'view:feature' (for example 'zipcode_features:city').`,
  )
}

export function formatFeatureRef(ref: FeatureRef): string {
  return `${ref.view}:${ref.feature}`
}
