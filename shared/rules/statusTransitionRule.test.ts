import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { statusTransitionRule } from './statusTransitionRule.ts'
import { contextFor, remove, set, verdicts, type ChangeSpec } from './testing/contexts.ts'
import type { FieldChange } from './ruleTypes.ts'

const evaluate = (status: string | undefined, change: ChangeSpec | FieldChange) =>
  statusTransitionRule.evaluate(contextFor('proposal', 'admin', status === undefined ? {} : { meta: { status } }, [change]))

const ALLOWED: [string, string][] = [
  ['draft', 'in_review'],
  ['in_review', 'approved'],
  ['in_review', 'rejected'],
  ['rejected', 'draft'],
  ['approved', 'submitted'],
  ['submitted', 'won'],
  ['submitted', 'lost'],
]

describe('status-transition rule', () => {
  it('lets a proposal without a status start in draft only', () => {
    assert.deepEqual(evaluate(undefined, set('meta.status', 'draft')), [])
    const violations = evaluate(undefined, set('meta.status', 'in_review'))
    assert.deepEqual(verdicts(violations), [['status-transition', 'reject', 'meta.status']])
    assert.match(violations[0]?.message ?? '', /a new proposal starts in draft, not "in_review"/)
  })

  it('treats an update without an old value as the first status', () => {
    const change: FieldChange = {
      root: 'meta',
      key: 'status',
      path: 'meta.status',
      action: 'update',
      oldValue: undefined,
      newValue: 'won',
    }
    assert.deepEqual(verdicts(evaluate(undefined, change)), [['status-transition', 'reject', 'meta.status']])
  })

  it('accepts every edge of the lifecycle', () => {
    for (const [from, to] of ALLOWED) assert.deepEqual(evaluate(from, set('meta.status', to)), [], `${from} → ${to}`)
  })

  it('rejects moves that are not edges of the lifecycle, saying which are allowed', () => {
    const skipping = evaluate('draft', set('meta.status', 'approved'))
    assert.deepEqual(verdicts(skipping), [['status-transition', 'reject', 'meta.status']])
    assert.match(skipping[0]?.message ?? '', /from "draft" to "approved" \(allowed: in_review\)/)
    for (const [from, to] of [['in_review', 'draft'], ['approved', 'rejected'], ['won', 'lost'], ['rejected', 'approved']]) {
      const violations = evaluate(from, set('meta.status', to))
      assert.deepEqual(verdicts(violations), [['status-transition', 'reject', 'meta.status']], `${from} → ${to}`)
    }
    assert.match(evaluate('won', set('meta.status', 'submitted'))[0]?.message ?? '', /no further moves/)
  })

  it('rejects a status that is not one of the seven', () => {
    assert.deepEqual(verdicts(evaluate('draft', set('meta.status', 'archived'))), [['status-transition', 'reject', 'meta.status']])
  })

  it('rejects deleting the status', () => {
    const violations = evaluate('draft', remove('meta.status'))
    assert.deepEqual(verdicts(violations), [['status-transition', 'reject', 'meta.status']])
    assert.match(violations[0]?.message ?? '', /cannot be removed/)
  })

  it('does not treat the same value as a change', () => {
    assert.deepEqual(evaluate('won', set('meta.status', 'won')), [])
  })

  it('leaves reopening an approved proposal to approved-is-final', () => {
    for (const from of ['approved', 'submitted', 'won', 'lost']) {
      for (const to of ['draft', 'in_review']) assert.deepEqual(evaluate(from, set('meta.status', to)), [], `${from} → ${to}`)
    }
  })

  it('ignores other fields', () => {
    const context = contextFor('proposal', 'editor', {}, [set('meta.title', 'won'), set('approvals.status', 'x')])
    assert.deepEqual(statusTransitionRule.evaluate(context), [])
  })
})
