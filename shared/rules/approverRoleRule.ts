import { isNoOp } from './changeValues.ts'
import { isStatusChange } from './proposalStatus.ts'
import { atLeast } from './roles.ts'
import type { Rule, RuleContext, Violation } from './ruleTypes.ts'

/**
 * `approver-role` (design §4): only a manager or admin sets a proposal's status to `approved` or
 * `rejected`; approving also needs `financial.value > 0` and a `meta.customerId` whose document
 * `customer/<id>` exists in the actor's tenant, both read from the AFTER view (the same update
 * may set them together with the status).
 * - Every failing condition is named, in one violation (one per path is all the gate reports).
 * - Re-setting the status it already has is not a change and is not checked.
 * - `customerExists` is asked only for a non-empty string id, at most once per status change.
 * - Whether the move itself is allowed (e.g. draft → approved) is `status-transition`'s matter.
 */

const ID = 'approver-role'

const problemsApproving = ({ actor, after, customerExists }: RuleContext, decision: string): string[] => {
  const problems: string[] = []
  if (!atLeast(actor.role, 'manager')) problems.push(`only a manager or admin can set the status to ${decision}`)
  if (decision !== 'approved') return problems
  const value = after.get('financial', 'value')
  if (typeof value !== 'number' || !(value > 0)) problems.push('approving needs financial.value > 0')
  const customerId = after.get('meta', 'customerId')
  if (typeof customerId !== 'string' || customerId === '') {
    problems.push('approving needs a meta.customerId')
  } else if (!customerExists(customerId)) {
    problems.push(`approving needs an existing customer, and customer/${customerId} does not exist`)
  }
  return problems
}

export const approverRoleRule: Rule = {
  id: ID,
  appliesTo: ['proposal'],
  evaluate(context) {
    const violations: Violation[] = []
    for (const change of context.changes) {
      if (!isStatusChange(change) || isNoOp(change)) continue
      if (change.newValue !== 'approved' && change.newValue !== 'rejected') continue
      const problems = problemsApproving(context, change.newValue)
      if (problems.length > 0) {
        violations.push({ ruleId: ID, outcome: 'reject', path: change.path, message: problems.join('; ') })
      }
    }
    return violations
  },
}
