import { describeValue } from './changeValues.ts'
import { isStatusChange, reopensFinalProposal } from './proposalStatus.ts'
import type { Rule, Violation } from './ruleTypes.ts'

/**
 * `approved-is-final`: an approved (or submitted/won/lost) proposal never goes back to
 * draft or in_review. The status before is the change's `oldValue`: the server's value when the
 * update arrives, so a change made offline before the approval (its author still saw a draft) is
 * judged against the approved status it would overwrite.
 *
 * This rule owns that case: it runs before `status-transition` in `RULES`, and `status-transition`
 * skips it, so exactly one rule claims it. Other illegal moves from a final status (approved →
 * rejected, won → lost, deleting the status) are `status-transition`'s.
 */

const ID = 'approved-is-final'

export const approvedIsFinalRule: Rule = {
  id: ID,
  appliesTo: ['proposal'],
  evaluate({ changes }) {
    const violations: Violation[] = []
    for (const change of changes) {
      if (!isStatusChange(change) || !reopensFinalProposal(change.oldValue, change.newValue)) continue
      violations.push({
        ruleId: ID,
        outcome: 'reject',
        path: change.path,
        message: `the proposal is ${describeValue(change.oldValue)}; it cannot go back to ${describeValue(change.newValue)}`,
      })
    }
    return violations
  },
}
