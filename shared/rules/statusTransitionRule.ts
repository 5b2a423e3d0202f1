import { describeValue, isNoOp } from './changeValues.ts'
import {
  INITIAL_STATUS,
  STATUS_TRANSITIONS,
  canTransition,
  isProposalStatus,
  isStatusChange,
  reopensFinalProposal,
} from './proposalStatus.ts'
import type { Rule, Violation } from './ruleTypes.ts'

/**
 * `status-transition` for a proposal's `meta.status`:
 * - no status before (`oldValue` undefined): the only status it may get is `draft`;
 * - a status before: it moves only along the lifecycle edges in `STATUS_TRANSITIONS`;
 * - deleting a status the proposal had → reject (a proposal never loses its place in the lifecycle);
 * - the same value again is not a change.
 * "Before" is judged by the change's old value rather than its action label, so an `update` with
 * no old value counts as the first status. A status that is not one of the seven (set, or found
 * corrupt before) has no edges and is rejected; `schema` reports an invalid new value first.
 * An approved-or-later proposal sent back to draft/in_review is left to `approved-is-final`.
 */

const ID = 'status-transition'

const problemWith = (from: unknown, to: unknown): string | null => {
  if (to === undefined) return from === undefined ? null : `the status ${describeValue(from)} cannot be removed`
  if (from === undefined) {
    return to === INITIAL_STATUS ? null : `a new proposal starts in ${INITIAL_STATUS}, not ${describeValue(to)}`
  }
  if (reopensFinalProposal(from, to)) return null
  if (isProposalStatus(from) && isProposalStatus(to) && canTransition(from, to)) return null
  const allowed = isProposalStatus(from) ? (STATUS_TRANSITIONS.get(from) ?? []) : []
  return `status cannot move from ${describeValue(from)} to ${describeValue(to)}${
    allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ' (no further moves)'
  }`
}

export const statusTransitionRule: Rule = {
  id: ID,
  appliesTo: ['proposal'],
  evaluate({ changes }) {
    const violations: Violation[] = []
    for (const change of changes) {
      if (!isStatusChange(change) || isNoOp(change)) continue
      const problem = problemWith(change.oldValue, change.newValue)
      if (problem !== null) violations.push({ ruleId: ID, outcome: 'reject', path: change.path, message: problem })
    }
    return violations
  },
}
