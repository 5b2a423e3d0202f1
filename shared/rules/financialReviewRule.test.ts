import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { financialReviewRule } from './financialReviewRule.ts'
import { contextFor, remove, set, verdicts, type ChangeSpec } from './testing/contexts.ts'
import type { DocumentView } from './ruleTypes.ts'
import type { Role } from '../schemas.ts'

const evaluate = (role: Role, status: string, changes: ChangeSpec[]) =>
  financialReviewRule.evaluate(contextFor('proposal', role, { meta: { status }, financial: { value: 100, discountPct: 5 } }, changes))

describe('financial-review rule', () => {
  it('holds financial changes by an editor for review before approval', () => {
    for (const status of ['draft', 'in_review', 'rejected']) {
      const violations = evaluate('editor', status, [
        set('financial.value', 200),
        remove('financial.discountPct'),
        set('financial.marginPct', 10),
      ])
      assert.deepEqual(verdicts(violations), [
        ['financial-review', 'review', 'financial.value'],
        ['financial-review', 'review', 'financial.discountPct'],
        ['financial-review', 'review', 'financial.marginPct'],
      ])
      assert.match(violations[0]?.message ?? '', /held for review/)
    }
  })

  it('accepts financial changes by a manager or admin before approval', () => {
    assert.deepEqual(evaluate('manager', 'in_review', [set('financial.value', 200)]), [])
    assert.deepEqual(evaluate('admin', 'draft', [remove('financial.discountPct')]), [])
  })

  it('rejects financial changes by anyone but an admin once approved', () => {
    for (const status of ['approved', 'submitted', 'won', 'lost']) {
      for (const role of ['editor', 'manager'] as const) {
        const violations = evaluate(role, status, [set('financial.value', 200)])
        assert.deepEqual(verdicts(violations), [['financial-review', 'reject', 'financial.value']], `${role} on ${status}`)
        assert.match(violations[0]?.message ?? '', /only an admin can change financial\.value/)
      }
      assert.deepEqual(evaluate('admin', status, [set('financial.value', 200)]), [])
    }
  })

  it('judges by the status before the update', () => {
    assert.deepEqual(evaluate('manager', 'in_review', [set('meta.status', 'approved'), set('financial.value', 1)]), [])
    assert.deepEqual(verdicts(evaluate('manager', 'approved', [set('meta.status', 'submitted'), set('financial.value', 1)])), [
      ['financial-review', 'reject', 'financial.value'],
    ])
  })

  it('ignores re-setting a value and changes outside financial', () => {
    assert.deepEqual(evaluate('editor', 'draft', [set('financial.value', 100), set('meta.title', 'T')]), [])
  })

  it('reads the status once, however many financial changes there are', () => {
    let reads = 0
    const context = contextFor('proposal', 'editor', { meta: { status: 'draft' } }, [
      set('financial.value', 1),
      set('financial.discountPct', 2),
      set('financial.marginPct', 3),
    ])
    const before: DocumentView = { get: (root, key) => (reads++, context.before.get(root, key)) }
    assert.equal(financialReviewRule.evaluate({ ...context, before }).length, 3)
    assert.equal(reads, 1)
  })
})
