import { isNoOp } from './changeValues.ts'
import type { Rule, Violation } from './ruleTypes.ts'

/**
 * `team-admin-only`: only an admin adds, changes or removes `team` members. Re-setting
 * a member's role to the role it already has is not a change and is not rejected.
 */

const ID = 'team-admin-only'

export const teamAdminOnlyRule: Rule = {
  id: ID,
  appliesTo: ['proposal'],
  evaluate({ actor, changes }) {
    if (actor.role === 'admin') return []
    const violations: Violation[] = []
    for (const change of changes) {
      if (change.root !== 'team' || isNoOp(change)) continue
      violations.push({
        ruleId: ID,
        outcome: 'reject',
        path: change.path,
        message: `only an admin can change the team (${change.path})`,
      })
    }
    return violations
  },
}
