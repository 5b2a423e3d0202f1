import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { teamAdminOnlyRule } from './teamAdminOnlyRule.ts'
import { contextFor, remove, set, verdicts } from './testing/contexts.ts'

const TEAM = { team: { 'u-1': 'editor', 'u-2': 'manager' } }

describe('team-admin-only rule', () => {
  it('lets an admin add, change and remove team members', () => {
    const context = contextFor('proposal', 'admin', TEAM, [set('team.u-3', 'editor'), set('team.u-1', 'manager'), remove('team.u-2')])
    assert.deepEqual(teamAdminOnlyRule.evaluate(context), [])
  })

  it('rejects team changes by anyone else', () => {
    for (const role of ['editor', 'manager'] as const) {
      const context = contextFor('proposal', role, TEAM, [set('team.u-3', 'editor'), set('meta.title', 'T'), remove('team.u-2')])
      const violations = teamAdminOnlyRule.evaluate(context)
      assert.deepEqual(verdicts(violations), [
        ['team-admin-only', 'reject', 'team.u-3'],
        ['team-admin-only', 'reject', 'team.u-2'],
      ])
      assert.match(violations[0]?.message ?? '', /only an admin can change the team/)
    }
  })

  it('ignores re-setting a member to the role it has', () => {
    assert.deepEqual(teamAdminOnlyRule.evaluate(contextFor('proposal', 'manager', TEAM, [set('team.u-1', 'editor')])), [])
  })
})
