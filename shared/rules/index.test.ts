import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  RULES,
  approvedIsFinalRule,
  evaluateRules,
  financialReviewRule,
  schemaRule,
  statusTransitionRule,
  type DocumentView,
  type RuleContext,
} from './index.ts'
import { contextFor, edit, remove, set, verdicts, type ChangeSpec } from './testing/contexts.ts'

const approval = (role: string) => ({ decision: 'approved', role, at: '2025-11-01T10:00:00Z' })

const PROPOSAL = {
  meta: { title: 'Fleet renewal', status: 'in_review', customerId: 'c-1', currency: 'EUR' },
  financial: { value: 1000, discountPct: 5 },
  team: { 'u-1': 'editor' },
}

/** An offline client's batch: 20 good changes by a manager, and one bad currency at index 9. */
const BATCH: ChangeSpec[] = [
  set('meta.title', 'Fleet renewal 2026'),
  set('meta.ownerId', 'u-manager'),
  set('meta.dueDate', '2026-01-31'),
  set('meta.customerId', 'c-2'),
  set('financial.value', 2500),
  set('financial.discountPct', 7.5),
  set('financial.marginPct', 22),
  set('financial.paymentTermsDays', 30),
  edit('body'),
  set('meta.currency', 'euro'),
  ...Array.from({ length: 11 }, (_, i) => set(`approvals.r-${i}`, approval(i % 2 === 0 ? 'editor' : 'manager'))),
]

describe('RULES', () => {
  it('holds the ten rules once each, in the fixed order', () => {
    assert.deepEqual(
      RULES.map((rule) => rule.id),
      [
        'read-only',
        'customer-required',
        'schema',
        'approved-is-final',
        'status-transition',
        'approver-role',
        'team-admin-only',
        'higher-role-wins',
        'financial-review',
        'legal-review',
      ],
    )
  })
})

describe('evaluateRules', () => {
  it('reports only the one violating change of a batch of 21', () => {
    assert.equal(BATCH.length, 21)
    const violations = evaluateRules(contextFor('proposal', 'manager', PROPOSAL, BATCH, { customers: ['c-1', 'c-2'] }))
    assert.deepEqual(verdicts(violations), [['schema', 'reject', 'meta.currency']])
  })

  it('is deterministic: the same input gives the same output', () => {
    const input = (): RuleContext =>
      contextFor('proposal', 'editor', PROPOSAL, [
        ...BATCH,
        set('team.u-2', 'manager'),
        set('meta.status', 'approved'),
        set('approvals.u-m', approval('admin')),
      ])
    const first = evaluateRules(input())
    assert.ok(first.length > 5, 'first.length > 5')
    assert.deepEqual(evaluateRules(input()), first)
    assert.deepEqual(evaluateRules(input()), evaluateRules(input()))
  })

  it('orders violations by where their change is in the change set, not by rule', () => {
    const violations = evaluateRules(
      contextFor('proposal', 'editor', PROPOSAL, [
        set('team.u-2', 'manager'),
        set('meta.title', 'x'.repeat(300)),
        set('financial.value', 1),
      ]),
    )
    assert.deepEqual(verdicts(violations), [
      ['team-admin-only', 'reject', 'team.u-2'],
      ['schema', 'reject', 'meta.title'],
      ['financial-review', 'review', 'financial.value'],
    ])
  })

  it('reports at most one violation per path: the first rule that objects', () => {
    const viewer = evaluateRules(contextFor('proposal', 'viewer', PROPOSAL, [set('meta.currency', 'euro'), set('team.u-2', 'x')]))
    assert.deepEqual(verdicts(viewer), [
      ['read-only', 'reject', 'meta.currency'],
      ['read-only', 'reject', 'team.u-2'],
    ])
    const customer = evaluateRules(contextFor('customer', 'editor', {}, [set('fields.email', 'nope'), set('fields.name', '')]))
    assert.deepEqual(verdicts(customer), [
      ['customer-required', 'reject', 'fields.email'],
      ['customer-required', 'reject', 'fields.name'],
    ])
  })

  it('lets a reject beat a review on the same path, whatever the rule order', () => {
    const context = contextFor('proposal', 'editor', PROPOSAL, [set('financial.value', -5)])
    assert.deepEqual(verdicts(financialReviewRule.evaluate(context)), [['financial-review', 'review', 'financial.value']])
    assert.deepEqual(verdicts(evaluateRules(context)), [['schema', 'reject', 'financial.value']])
    assert.deepEqual(verdicts(evaluateRules(context, [financialReviewRule, schemaRule])), [['schema', 'reject', 'financial.value']])
  })

  it('keeps a review when nothing rejects its path', () => {
    const context = contextFor('content', 'editor', { meta: { legal: true } }, [edit('body'), set('meta.title', 'T')])
    assert.deepEqual(verdicts(evaluateRules(context)), [['legal-review', 'review', 'body']])
  })

  it('reports reopening an approved proposal as approved-is-final, never status-transition', () => {
    for (const from of ['approved', 'submitted', 'won', 'lost']) {
      const context = contextFor('proposal', 'admin', { meta: { status: from } }, [set('meta.status', 'draft')])
      assert.deepEqual(verdicts(evaluateRules(context)), [['approved-is-final', 'reject', 'meta.status']])
      assert.deepEqual(verdicts(evaluateRules(context, [statusTransitionRule, approvedIsFinalRule])), [
        ['approved-is-final', 'reject', 'meta.status'],
      ])
    }
    const other = contextFor('proposal', 'admin', { meta: { status: 'approved' } }, [set('meta.status', 'rejected')])
    assert.deepEqual(verdicts(evaluateRules(other)), [['status-transition', 'reject', 'meta.status']])
  })

  it('runs only the rules that apply to the document type', () => {
    // `team` is not a root of content: schema rejects it, team-admin-only (proposal only) does not run.
    const violations = evaluateRules(contextFor('content', 'editor', {}, [set('team.u-2', 'editor')]))
    assert.deepEqual(verdicts(violations), [['schema', 'reject', 'team.u-2']])
  })

  it('accepts a valid approval by a manager end to end', () => {
    const changes = [set('meta.status', 'approved'), set('approvals.u-manager', approval('manager'))]
    assert.deepEqual(evaluateRules(contextFor('proposal', 'manager', PROPOSAL, changes, { customers: ['c-1'] })), [])
    const unpriced = contextFor('proposal', 'manager', PROPOSAL, [...changes, remove('financial.value')], { customers: ['c-1'] })
    assert.deepEqual(verdicts(evaluateRules(unpriced)), [['approver-role', 'reject', 'meta.status']])
  })

  it('reads a constant number of keys from the views, however large the batch', () => {
    const base = contextFor('proposal', 'editor', PROPOSAL, [
      ...BATCH,
      ...Array.from({ length: 200 }, (_, i) => set(`financial.value`, i + 1)),
    ])
    let reads = 0
    const counting = (view: DocumentView): DocumentView => ({ get: (root, key) => (reads++, view.get(root, key)) })
    evaluateRules({ ...base, before: counting(base.before), after: counting(base.after) })
    assert.ok(reads <= 2, `read ${reads} keys`)
  })
})
