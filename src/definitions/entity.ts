import { MorselError } from '../errors/index.js'
import type { DType } from '../types/dtypes.js'
import { ENTITY_KEY_VALUE_TYPES } from '../types/value-type.js'
import { KIND, checkName, commonSpec, type CommonOptions } from './common.js'
import type { EntitySpec } from './specs.js'

export interface EntityOptions<N extends string, J extends string, D extends DType> extends CommonOptions {
  readonly name: N
  /** Feast allows exactly one join key per entity; composite keys come from views with several entities. Defaults to the name. */
  readonly joinKeys?: readonly [J]
  readonly valueType: D
}

/**
 * Something features are about (a customer, a zip code), and the column that identifies it.
 *
 * @example
 * export const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
 */
export class Entity<N extends string = string, J extends string = N, D extends DType = DType> {
  readonly [KIND] = 'entity' as const
  readonly spec: EntitySpec
  /** Phantom: the join key's name and TypeScript value type. */
  declare readonly __key?: { readonly [K in J]: D extends DType<infer T> ? T : never }

  constructor(options: EntityOptions<N, J, D>) {
    const name = checkName('Entity', options.name)
    const what = `Entity '${name}'`
    const joinKeys = options.joinKeys as readonly string[] | undefined
    if (joinKeys !== undefined && joinKeys.length !== 1) {
      throw new MorselError(
        'MORSEL_DEFINITION_INVALID',
        `${what}: give exactly one join key (got ${joinKeys.length}). For a composite key, give the feature view several entities.`,
      )
    }
    const joinKey = checkName(`${what}: join key`, joinKeys?.[0] ?? name)
    const dtype = options.valueType as DType | undefined
    if (dtype === undefined || !ENTITY_KEY_VALUE_TYPES.includes(dtype.valueType)) {
      const got = dtype === undefined ? '' : ` (got ${String((dtype as { name?: unknown }).name)})`
      throw new MorselError(
        'MORSEL_DEFINITION_INVALID',
        `${what}: valueType must be one of types.Int64, types.Int32, types.String, types.Bytes or types.UnixTimestamp${got}.`,
      )
    }
    this.spec = Object.freeze({
      name,
      joinKey,
      dtype: dtype.name,
      valueType: dtype.valueType,
      ...commonSpec(what, options),
    })
  }

  get name(): N {
    return this.spec.name as N
  }

  get joinKey(): J {
    return this.spec.joinKey as J
  }
}
