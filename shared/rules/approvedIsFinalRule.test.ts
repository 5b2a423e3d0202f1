import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { approvedIsFinalRule } from './approvedIsFinalRule.ts'
import { contextFor, set, verdicts } from './testing/contexts.ts'

const evaluate = (from: string, to: string) =>
  approvedIsFinalRule.evaluate(contextFor('proposal', 'admin', { meta: { status: from } }, [set('meta.status', to)]))

describe('approved-is-final rule', () => {
  it('rejects sending an approved or later proposal back to draft or in_review, even by an admin', () => {
    for (const from of ['approved', 'submitted', 'won', 'lost']) {
      for (const to of ['draft', 'in_review']) {
        assert.deepEqual(verdicts(evaluate(from, to)), [['approved-is-final', 'reject', 'meta.status']], `${from} → ${to}`)
      }
    }
    assert.match(evaluate('won', 'draft')[0]?.message ?? '', /the proposal is "won"; it cannot go back to "draft"/)
  })

  it('judges an offline change against the status the server has now', () => {
    // The client saw a draft and moved it to in_review offline; meanwhile the proposal was approved.
    const context = contextFor('proposal', 'editor', { meta: { status: 'approved' } }, [set('meta.status', 'in_review')])
    assert.deepEqual(verdicts(approvedIsFinalRule.evaluate(context)), [['approved-is-final', 'reject', 'meta.status']])
  })

  it('accepts moves that do not reopen a final proposal', () => {
    assert.deepEqual(evaluate('rejected', 'draft'), [])
    assert.deepEqual(evaluate('approved', 'submitted'), [])
    assert.deepEqual(evaluate('draft', 'in_review'), [])
    // Illegal, but not this rule's case: status-transition reports these.
    assert.deepEqual(evaluate('approved', 'rejected'), [])
    assert.deepEqual(evaluate('in_review', 'draft'), [])
  })
})
