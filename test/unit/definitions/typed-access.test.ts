import { describe, expectTypeOf, it } from 'vitest'
import { Entity, FeatureService, type FeatureStore, FeatureView, FileSource, OnDemandFeatureView, RequestSource, types, type OnlineResponse } from '../../../src/index.js'

// These assertions are checked by the type-checker (`npm run typecheck` covers test/); at run time
// they only prove the definitions build.
const zipcode = new Entity({ name: 'zipcode', valueType: types.Int64 })
const dobSsn = new Entity({ name: 'dob_ssn', valueType: types.String })
const src = new FileSource({ path: 'x.parquet', timestampField: 'event_timestamp' })
const zipcodeFeatures = new FeatureView({ name: 'zipcode_features', entities: [zipcode], source: src, schema: { city: types.String, population: types.Int64 } })
const credit = new FeatureView({ name: 'credit_history', entities: [dobSsn], source: src, schema: { credit_card_due: types.Int64, hard_pulls: types.Int32 } })
const loanRequest = new RequestSource({ name: 'loan_request', schema: { person_income: types.Int64 } })
const dti = new OnDemandFeatureView({
  name: 'dti',
  sources: [credit, loanRequest],
  schema: { debt_to_income: types.Float64 },
  udf: (r) => {
    expectTypeOf(r.credit_card_due).toEqualTypeOf<number | null>()
    expectTypeOf(r.person_income).toEqualTypeOf<number | null>()
    return { debt_to_income: r.credit_card_due !== null && r.person_income ? r.credit_card_due / r.person_income : null }
  },
})
const service = new FeatureService({ name: 'model', features: [zipcodeFeatures.select(['city']), credit, dti] })

describe('typed access', () => {
  it('types rows of a feature service response', () => {
    type Row = OnlineResponse<never>
    expectTypeOf<Row>().not.toBeAny()
    const _read = (store: FeatureStore) => store.getOnlineFeatures({ featureService: service, entityRows: [{ zipcode: 1, dob_ssn: 'x', person_income: 1 }] })
    type Response = Awaited<ReturnType<typeof _read>>
    type R = ReturnType<Response['toRows']>[number]
    expectTypeOf<R['city']>().toEqualTypeOf<string | null>()
    expectTypeOf<R['credit_card_due']>().toEqualTypeOf<number | null>()
    expectTypeOf<R['debt_to_income']>().toEqualTypeOf<number | null>()
    expectTypeOf<R['zipcode']>().toEqualTypeOf<number>()
    expectTypeOf<R['dob_ssn']>().toEqualTypeOf<string>()
    // @ts-expect-error population was not selected into the service
    expectTypeOf<R['population']>().toEqualTypeOf<number | null>()

    const _readFull = (store: FeatureStore) => store.getOnlineFeatures({ featureService: service, fullFeatureNames: true, entityRows: [{ zipcode: 1, dob_ssn: 'x' }] })
    type F = ReturnType<Awaited<ReturnType<typeof _readFull>>['toRows']>[number]
    expectTypeOf<F['zipcode_features__city']>().toEqualTypeOf<string | null>()
    expectTypeOf<F['dti__debt_to_income']>().toEqualTypeOf<number | null>()
  })
})
