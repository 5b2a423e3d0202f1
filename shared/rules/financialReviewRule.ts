import { isNoOp } from './changeValues.ts'
import { isApprovedOrLater } from './proposalStatus.ts'
import { atLeast, withArticle } from './roles.ts'
import type { Rule, Violation } from './ruleTypes.ts'

/**
 * `financial-review`, for every add/update/delete of a `financial.*` key:
 * - the proposal's status BEFORE the update is approved/submitted/won/lost → only an admin may
 *   change it: anyone else → `reject` (not review: there is nothing a reviewer could approve);
 * - otherwise a role below manager → `review` (held; an admin re-applies or drops it).
 * The status is read from the before view, so one update that both approves and changes a
 * figure is judged as before approval (a manager could have made them one after the other).
 * Re-setting a value a key already had is not a change: nothing is held for review.
 * The status is read at most once per evaluation, and only when a financial change is present.
 */

const ID = 'financial-review'

export const financialReviewRule: Rule = {
  id: ID,
  appliesTo: ['proposal'],
  evaluate({ actor, before, changes }) {
    const violations: Violation[] = []
    let approved: boolean | undefined
    for (const change of changes) {
      if (change.root !== 'financial' || isNoOp(change)) continue
      approved ??= isApprovedOrLater(before.get('meta', 'status'))
      if (approved && actor.role !== 'admin') {
        violations.push({
          ruleId: ID,
          outcome: 'reject',
          path: change.path,
          message: `the proposal is approved; only an admin can change ${change.path}`,
        })
      } else if (!approved && !atLeast(actor.role, 'manager')) {
        violations.push({
          ruleId: ID,
          outcome: 'review',
          path: change.path,
          message: `a change to ${change.path} by ${withArticle(actor.role)} is held for review by a manager`,
        })
      }
    }
    return violations
  },
}
