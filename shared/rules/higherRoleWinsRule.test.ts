import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { higherRoleWinsRule } from './higherRoleWinsRule.ts'
import { contextFor, remove, set, verdicts, type ChangeSpec, type Snapshot } from './testing/contexts.ts'
import type { Role } from '../schemas.ts'

const approval = (role: string, decision = 'approved') => ({ decision, role, at: '2025-11-01T10:00:00Z' })
const APPROVALS: Snapshot = { approvals: { 'u-m': approval('manager'), 'u-e': approval('editor'), 'u-x': approval('owner') } }

const evaluate = (role: Role, changes: ChangeSpec[]) => higherRoleWinsRule.evaluate(contextFor('proposal', role, APPROVALS, changes))

describe('higher-role-wins rule', () => {
  it('accepts adding an approval at your own rank', () => {
    assert.deepEqual(evaluate('editor', [set('approvals.u-new', approval('editor'))]), [])
    assert.deepEqual(evaluate('manager', [set('approvals.u-new', approval('editor', 'rejected'))]), [])
  })

  it('rejects overwriting or deleting the decision of a higher rank', () => {
    const violations = evaluate('editor', [set('approvals.u-m', approval('editor', 'rejected')), remove('approvals.u-m')])
    assert.deepEqual(verdicts(violations), [
      ['higher-role-wins', 'reject', 'approvals.u-m'],
      ['higher-role-wins', 'reject', 'approvals.u-m'],
    ])
    assert.equal(violations[0]?.message, 'approvals.u-m was decided by a manager; an editor cannot overwrite it')
  })

  it('lets the same or a higher rank overwrite', () => {
    const overwrites = [set('approvals.u-m', approval('manager', 'rejected')), set('approvals.u-e', approval('manager'))]
    assert.deepEqual(evaluate('manager', overwrites), [])
    assert.deepEqual(evaluate('admin', [remove('approvals.u-m')]), [])
    assert.deepEqual(evaluate('editor', [set('approvals.u-e', approval('editor', 'rejected'))]), [])
  })

  it('rejects signing as a higher rank than the actor has', () => {
    const violations = evaluate('editor', [set('approvals.u-new', approval('manager'))])
    assert.deepEqual(verdicts(violations), [['higher-role-wins', 'reject', 'approvals.u-new']])
    assert.equal(violations[0]?.message, 'an editor cannot sign an approval as manager')
  })

  it('names both problems in one violation', () => {
    const violations = evaluate('editor', [set('approvals.u-m', approval('admin'))])
    assert.deepEqual(verdicts(violations), [['higher-role-wins', 'reject', 'approvals.u-m']])
    assert.match(violations[0]?.message ?? '', /decided by a manager.*; an editor cannot sign an approval as admin/)
  })

  it('lets only an admin overwrite an approval whose author cannot be ranked', () => {
    assert.deepEqual(verdicts(evaluate('manager', [remove('approvals.u-x')])), [['higher-role-wins', 'reject', 'approvals.u-x']])
    assert.deepEqual(evaluate('admin', [remove('approvals.u-x')]), [])
  })

  it('leaves a new value without a valid role to the schema rule', () => {
    assert.deepEqual(evaluate('editor', [set('approvals.u-new', { decision: 'approved' }), set('approvals.u-2', 'yes')]), [])
  })

  it('ignores re-setting an approval to the value it has', () => {
    assert.deepEqual(evaluate('editor', [set('approvals.u-m', approval('manager'))]), [])
  })
})
