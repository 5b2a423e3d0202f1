import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { approverRoleRule } from './approverRoleRule.ts'
import { contextFor, remove, set, verdicts, type Snapshot } from './testing/contexts.ts'
import type { Role } from '../schemas.ts'

const READY: Snapshot = { meta: { status: 'in_review', customerId: 'c-1' }, financial: { value: 1000 } }

const evaluate = (role: Role, before: Snapshot, changes = [set('meta.status', 'approved')], customers = ['c-1']) =>
  approverRoleRule.evaluate(contextFor('proposal', role, before, changes, { customers }))

describe('approver-role rule', () => {
  it('lets a manager or admin approve a priced proposal of an existing customer', () => {
    assert.deepEqual(evaluate('manager', READY), [])
    assert.deepEqual(evaluate('admin', READY), [])
  })

  it('rejects an editor setting approved or rejected', () => {
    for (const decision of ['approved', 'rejected']) {
      const violations = evaluate('editor', READY, [set('meta.status', decision)])
      assert.deepEqual(verdicts(violations), [['approver-role', 'reject', 'meta.status']])
      assert.equal(violations[0]?.message, `only a manager or admin can set the status to ${decision}`)
    }
  })

  it('does not require a value or customer to reject a proposal', () => {
    assert.deepEqual(evaluate('manager', { meta: { status: 'in_review' } }, [set('meta.status', 'rejected')], []), [])
  })

  it('rejects approving without financial.value > 0', () => {
    for (const financial of [{ value: 0 }, {}, { value: '1000' }]) {
      const violations = evaluate('manager', { ...READY, financial })
      assert.deepEqual(verdicts(violations), [['approver-role', 'reject', 'meta.status']])
      assert.equal(violations[0]?.message, 'approving needs financial.value > 0')
    }
  })

  it('rejects approving without a customerId, or with one whose customer does not exist', () => {
    const missing = evaluate('manager', { ...READY, meta: { status: 'in_review' } })
    assert.deepEqual(verdicts(missing), [['approver-role', 'reject', 'meta.status']])
    assert.equal(missing[0]?.message, 'approving needs a meta.customerId')
    const unknown = evaluate('manager', READY, undefined, ['c-2'])
    assert.deepEqual(verdicts(unknown), [['approver-role', 'reject', 'meta.status']])
    assert.match(unknown[0]?.message ?? '', /customer\/c-1 does not exist/)
  })

  it('names every failing condition in one violation', () => {
    const violations = evaluate('editor', { meta: { status: 'in_review' } })
    assert.deepEqual(verdicts(violations), [['approver-role', 'reject', 'meta.status']])
    assert.equal(
      violations[0]?.message,
      'only a manager or admin can set the status to approved; approving needs financial.value > 0; approving needs a meta.customerId',
    )
  })

  it('reads the value and customer from the document after the update', () => {
    const changes = [set('financial.value', 500), set('meta.customerId', 'c-1'), set('meta.status', 'approved')]
    assert.deepEqual(evaluate('manager', { meta: { status: 'in_review' } }, changes), [])
    const zeroed = [set('financial.value', 0), set('meta.status', 'approved')]
    assert.deepEqual(verdicts(evaluate('manager', READY, zeroed)), [['approver-role', 'reject', 'meta.status']])
  })

  it('looks customers up only when approving, once per status change', () => {
    const lookups: string[] = []
    const context = (changes: ReturnType<typeof set>[]) =>
      contextFor('proposal', 'manager', READY, changes, { customers: ['c-1'], onCustomerLookup: (id) => lookups.push(id) })
    approverRoleRule.evaluate(context([set('meta.title', 'T'), set('financial.value', 5), set('meta.status', 'rejected')]))
    assert.deepEqual(lookups, [])
    approverRoleRule.evaluate(context([set('meta.status', 'approved')]))
    assert.deepEqual(lookups, ['c-1'])
  })

  it('ignores re-setting the status it already has', () => {
    assert.deepEqual(evaluate('editor', { meta: { status: 'approved' } }), [])
  })

  describe('while approved (or later), what approval required keeps holding', () => {
    const APPROVED: Snapshot = { meta: { status: 'approved', customerId: 'c-1' }, financial: { value: 1000 } }
    const customers = ['c-1', 'c-2']

    it('rejects a customer change by anyone but an admin', () => {
      for (const role of ['editor', 'manager'] as const) {
        for (const status of ['approved', 'submitted', 'won', 'lost']) {
          const violations = evaluate(role, { ...APPROVED, meta: { status, customerId: 'c-1' } }, [set('meta.customerId', 'c-2')], customers)
          assert.deepEqual(verdicts(violations), [['approver-role', 'reject', 'meta.customerId']], `${role} ${status}`)
          assert.equal(violations[0]?.message, `the proposal is ${status}; only an admin can change its customer`)
        }
      }
    })

    it('lets an admin move it to another existing customer, but never to none or to a missing one', () => {
      assert.deepEqual(evaluate('admin', APPROVED, [set('meta.customerId', 'c-2')], customers), [])
      const missing = evaluate('admin', APPROVED, [set('meta.customerId', 'c-9')], customers)
      assert.deepEqual(verdicts(missing), [['approver-role', 'reject', 'meta.customerId']])
      assert.equal(missing[0]?.message, 'the proposal is approved: it needs an existing customer, and customer/c-9 does not exist')
      const cleared = evaluate('admin', APPROVED, [remove('meta.customerId')], customers)
      assert.deepEqual(verdicts(cleared), [['approver-role', 'reject', 'meta.customerId']])
      assert.equal(cleared[0]?.message, 'the proposal is approved: it needs a meta.customerId')
    })

    it('rejects clearing financial.value or setting it to 0, also by an admin; a positive change by an admin passes', () => {
      for (const change of [remove('financial.value'), set('financial.value', 0)]) {
        const violations = evaluate('admin', APPROVED, [change], customers)
        assert.deepEqual(verdicts(violations), [['approver-role', 'reject', 'financial.value']])
        assert.equal(violations[0]?.message, 'the proposal is approved: it needs financial.value > 0')
      }
      assert.deepEqual(evaluate('admin', APPROVED, [set('financial.value', 1200)], customers), [])
    })

    it('does not apply before approval, nor to a rejected proposal', () => {
      assert.deepEqual(evaluate('editor', READY, [set('meta.customerId', 'c-2'), remove('financial.value')], customers), [])
      assert.deepEqual(evaluate('editor', { ...READY, meta: { status: 'rejected' } }, [remove('meta.customerId')], customers), [])
    })
  })
})
