import { describe, expect, it } from 'vitest'
import { LOAN_FIELDS, TUTORIAL_FORM, parseLoanForm, type LoanFormValues } from '../../../examples/credit-scoring/app/loan-form.js'
import { TUTORIAL_APPLICATION } from '../../../examples/credit-scoring/app/score.js'

const TODAY = new Date('2026-06-01T12:00:00Z')

function errorsOf(changes: Partial<Record<keyof LoanFormValues, unknown>>): Record<string, string> {
  const parsed = parseLoanForm({ ...TUTORIAL_FORM, ...changes }, TODAY)
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(changes)} to be refused`)
  return parsed.errors
}

describe('the loan application form', () => {
  it("turns the tutorial's form into the tutorial's request (dob_ssn as YYYYMMDD_NNNN)", () => {
    const parsed = parseLoanForm(TUTORIAL_FORM, TODAY)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.application).toEqual(TUTORIAL_APPLICATION)
  })

  it('accepts numbers as well as text, trims, and reads choices in any case', () => {
    const parsed = parseLoanForm({ ...TUTORIAL_FORM, zipcode: ' 76104 ', age: 40, interestRate: 9.5, homeOwnership: 'mortgage', loanIntent: 'Education' }, TODAY)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.application).toMatchObject({ zipcode: 76104, person_age: 40, loan_int_rate: 9.5, person_home_ownership: 'MORTGAGE', loan_intent: 'EDUCATION' })
    expect(parsed.values.homeOwnership).toBe('MORTGAGE')
  })

  it.each([
    [{ zipcode: '7610' }, 'zipcode', 'A ZIP code is 5 digits'],
    [{ zipcode: 'ABCDE' }, 'zipcode', 'A ZIP code is 5 digits'],
    [{ zipcode: '' }, 'zipcode', 'Enter the ZIP code.'],
    [{ dateOfBirth: '21/06/1963' }, 'dateOfBirth', 'YYYY-MM-DD'],
    [{ dateOfBirth: '1963-02-30' }, 'dateOfBirth', 'not a date in the calendar'],
    [{ dateOfBirth: '1899-12-31' }, 'dateOfBirth', '1900 or later'],
    [{ dateOfBirth: '2026-06-02' }, 'dateOfBirth', 'cannot be in the future'],
    [{ ssnLast4: '427' }, 'ssnLast4', 'exactly four digits'],
    [{ ssnLast4: '42a8' }, 'ssnLast4', 'exactly four digits'],
    [{ age: 'abc' }, 'age', 'digits only'],
    [{ age: '17' }, 'age', 'from 18 to 150'],
    [{ age: '30.5' }, 'age', 'digits only'],
    [{ income: '-5' }, 'income', 'digits only'],
    [{ income: '0' }, 'income', 'from 1 to 100,000,000'],
    [{ employmentLength: 'ten' }, 'employmentLength', 'a number'],
    [{ employmentLength: '151' }, 'employmentLength', 'from 0 to 150'],
    [{ amount: '35,000' }, 'amount', 'digits only'],
    [{ interestRate: '0' }, 'interestRate', 'from 0.01 to 100'],
    [{ interestRate: '1e2' }, 'interestRate', 'a number'],
    [{ homeOwnership: 'CASTLE' }, 'homeOwnership', 'RENT, OWN, MORTGAGE, OTHER'],
    [{ loanIntent: '' }, 'loanIntent', 'Choose the loan intent.'],
    [{ amount: { n: 1 } }, 'amount', 'Enter'],
  ])('refuses %j with a message for its field', (changes, field, message) => {
    const errors = errorsOf(changes)
    expect(Object.keys(errors)).toEqual([field])
    expect(errors[field]).toContain(message)
  })

  it('accepts 29 February of a leap year, and the day itself', () => {
    expect(parseLoanForm({ ...TUTORIAL_FORM, dateOfBirth: '2000-02-29' }, TODAY).ok).toBe(true)
    expect(parseLoanForm({ ...TUTORIAL_FORM, dateOfBirth: '2026-06-01' }, TODAY).ok).toBe(true)
    expect(errorsOf({ dateOfBirth: '2001-02-29' }).dateOfBirth).toContain('not a date')
  })

  it('names every field when the input is not a form', () => {
    for (const input of [null, 'x', [TUTORIAL_FORM], 42]) {
      const parsed = parseLoanForm(input, TODAY)
      expect(parsed.ok).toBe(false)
      if (!parsed.ok) expect(Object.keys(parsed.errors).sort()).toEqual([...LOAN_FIELDS].sort())
    }
  })
})
