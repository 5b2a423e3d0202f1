import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { customerRequiredRule } from './customerRequiredRule.ts'
import { contextFor, remove, set, verdicts, type ChangeSpec } from './testing/contexts.ts'

const CUSTOMER = { fields: { name: 'Acme', email: 'sales@acme.io' } }
const evaluate = (changes: ChangeSpec[]) => customerRequiredRule.evaluate(contextFor('customer', 'editor', CUSTOMER, changes))

describe('customer-required rule', () => {
  it('accepts a non-blank name and a valid email', () => {
    assert.deepEqual(evaluate([set('fields.name', 'Acme GmbH'), set('fields.email', 'info@acme.de'), set('fields.phone', '')]), [])
  })

  it('rejects emptying or removing the name', () => {
    for (const change of [set('fields.name', ''), set('fields.name', ' \t\n'), remove('fields.name')]) {
      const violations = evaluate([change])
      assert.deepEqual(verdicts(violations), [['customer-required', 'reject', 'fields.name']])
      assert.match(violations[0]?.message ?? '', /name cannot be (empty|removed)/)
    }
  })

  it('rejects an invalid email', () => {
    for (const email of ['not-an-email', 'a@', '', 42]) {
      const violations = evaluate([set('fields.email', email)])
      assert.deepEqual(verdicts(violations), [['customer-required', 'reject', 'fields.email']], String(email))
      assert.match(violations[0]?.message ?? '', /valid email/)
    }
  })

  it('accepts removing the email', () => {
    assert.deepEqual(evaluate([remove('fields.email')]), [])
  })

  it('leaves a name that is not a string to the schema rule', () => {
    assert.deepEqual(evaluate([set('fields.name', 42)]), [])
  })
})
