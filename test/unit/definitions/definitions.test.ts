import { describe, expect, it } from 'vitest'
import { Entity, FeatureService, FeatureView, FileSource, OnDemandFeatureView, PushSource, RequestSource, parseFeatureRef, types } from '../../../src/index.js'
import { isMorselError } from '../../../src/errors/index.js'
import { dtypeFromName } from '../../../src/types/dtypes.js'
import { ValueType } from '../../../src/types/value-type.js'

const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
const source = new FileSource({ path: 'data/zipcode_table.parquet', timestampField: 'event_timestamp', createdTimestampColumn: 'created_timestamp' })
const view = new FeatureView({
  name: 'zipcode_features',
  entities: [zipcode],
  ttl: { days: 3650 },
  source,
  schema: { zipcode: types.Int64, city: types.String, population: { dtype: types.Int64, description: 'people' }, tags: types.Array(types.String) },
})

function definitionError(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(isMorselError(err, 'MORSEL_DEFINITION_INVALID')).toBe(true)
    return (err as Error).message
  }
  throw new Error('expected a MORSEL_DEFINITION_INVALID error')
}

describe('definitions', () => {
  it('builds an entity spec with the join key defaulting to the name', () => {
    expect(zipcode.spec).toEqual({ name: 'zipcode', joinKey: 'zipcode', dtype: 'Int64', valueType: ValueType.INT64, description: '', tags: {}, owner: '' })
    const e = new Entity({ name: 'customer', joinKeys: ['customer_id'], valueType: types.String, tags: { team: 'risk' } })
    expect(e.spec.joinKey).toBe('customer_id')
    expect(e.spec.tags).toEqual({ team: 'risk' })
  })

  it('splits entity columns from features and keeps ttl in seconds', () => {
    expect(view.spec.entityColumns.map((c) => c.name)).toEqual(['zipcode'])
    expect(view.spec.features.map((f) => [f.name, f.dtype])).toEqual([
      ['city', 'String'],
      ['population', 'Int64'],
      ['tags', 'Array(String)'],
    ])
    expect(view.spec.features[1]?.description).toBe('people')
    expect(view.spec.ttlSeconds).toBe(3650 * 86_400)
    expect(view.spec.source).toBe('zipcode_table')
    expect(view.spec.online).toBe(true)
    expect(source.spec.format).toBe('parquet')
  })

  it('rejects a negative ttl, bad names, a mistyped join key column and empty schemas', () => {
    expect(definitionError(() => new FeatureView({ name: 'v', entities: [zipcode], source, ttl: { days: -1 }, schema: { a: types.Int64 } }))).toMatch(/ttl must not be negative/)
    expect(definitionError(() => new Entity({ name: '1bad', valueType: types.Int64 }))).toMatch(/not valid/)
    expect(definitionError(() => new FeatureView({ name: 'v', entities: [zipcode], source, schema: { zipcode: types.String, a: types.Int64 } }))).toMatch(
      /declared String but entity 'zipcode' has type Int64/,
    )
    expect(definitionError(() => new FeatureView({ name: 'v', entities: [zipcode], source, schema: { zipcode: types.Int64 } }))).toMatch(/no feature columns/)
    expect(definitionError(() => new FeatureView({ name: 'v', entities: [], source, schema: { a: types.Int64 } }))).toMatch(/at least one Entity/)
    expect(definitionError(() => new Entity({ name: 'e', valueType: types.Float64 as never }))).toMatch(/valueType must be one of/)
    expect(definitionError(() => new FileSource({ path: 'x.json', timestampField: 'ts' }))).toMatch(/\.parquet or \.csv/)
  })

  it('selects a subset of features for a service and refuses unknown ones', () => {
    const p = view.select(['city'])
    expect(p.features).toEqual(['city'])
    expect(definitionError(() => view.select(['citty' as 'city']))).toMatch(/'citty' is not a feature of view 'zipcode_features'/)
    const svc = new FeatureService({ name: 'model_v1', features: [p] })
    expect(svc.spec.projections).toEqual([{ view: 'zipcode_features', features: ['city'] }])
    expect(definitionError(() => new FeatureService({ name: 's', features: [view, view.select(['city'])] }))).toMatch(/listed twice/)
  })

  it('records on-demand views with their sources and a hash of their function', () => {
    const request = new RequestSource({ name: 'loan_request', schema: { income: types.Int64 } })
    const odfv = new OnDemandFeatureView({
      name: 'per_capita',
      sources: [view.select(['population']), request],
      schema: { ratio: types.Float64 },
      udf: (r) => ({ ratio: r.population && r.income ? r.income / r.population : null }),
    })
    expect(odfv.spec.sources).toEqual([
      { kind: 'featureView', name: 'zipcode_features', features: ['population'] },
      { kind: 'request', name: 'loan_request' },
    ])
    expect(odfv.spec.udfHash).toMatch(/^[0-9a-f]{64}$/)
    expect(odfv.udf({ population: 10, income: 50 })).toEqual({ ratio: 5 })
  })

  it('wraps a batch source in a push source', () => {
    const push = new PushSource({ name: 'zip_push', batchSource: source })
    expect(push.spec.batchSource.name).toBe('zipcode_table')
    expect(definitionError(() => new PushSource({ name: 'p', batchSource: push as never }))).toMatch(/batchSource must be a FileSource/)
  })

  it('parses feature references and Feast type names', () => {
    expect(parseFeatureRef('zipcode_features:city')).toEqual({ view: 'zipcode_features', feature: 'city' })
    for (const bad of ['city', 'a:b:c', ':x', 'x:', 42]) {
      expect(() => parseFeatureRef(bad)).toThrow(/not of the form 'view:feature'/)
    }
    expect(dtypeFromName('Array(Float32)')?.valueType).toBe(ValueType.FLOAT_LIST)
    expect(dtypeFromName('Array(Array(Int64))')).toBeUndefined()
    expect(() => types.Array(types.Array(types.Int64) as never)).toThrow(/lists hold scalars/)
  })

  it('refuses a bad element type of types.Array with a catalogue error saying what to pass', () => {
    const thrown = (f: () => unknown): unknown => {
      try {
        f()
      } catch (err) {
        return err
      }
      return undefined
    }
    const nested = thrown(() => types.Array(types.Array(types.Int64)))
    expect(isMorselError(nested, 'MORSEL_DEFINITION_INVALID') && nested.message).toBe(
      'types.Array(Array(Int64)) is not a Feast type: lists hold scalars only (Feast has no nested lists). Use a scalar element type such as types.Array(types.Int64).',
    )
    const name = thrown(() => types.Array('Int64' as never))
    expect(isMorselError(name, 'MORSEL_DEFINITION_INVALID') && name.message).toContain('got the string "Int64" (use types.Int64, not its name)')
    const missing = thrown(() => types.Array(undefined as never))
    expect(isMorselError(missing, 'MORSEL_DEFINITION_INVALID') && missing.message).toContain('takes a scalar type such as types.String or types.Int64; got undefined')
  })
})
