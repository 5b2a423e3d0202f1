import { isNoOp } from './changeValues.ts'
import { isApprovedOrLater, isStatusChange } from './proposalStatus.ts'
import { atLeast } from './roles.ts'
import type { Rule, RuleContext, Violation } from './ruleTypes.ts'

/**
 * `approver-role`: only a manager or admin sets a proposal's status to `approved` or
 * `rejected`; approving also needs `financial.value > 0` and a `meta.customerId` whose document
 * `customer/<id>` exists in the actor's tenant, both read from the AFTER view (the same update
 * may set them together with the status).
 * - Every failing condition is named, in one violation (one per path is all the gate reports).
 * - Re-setting the status it already has is not a change and is not checked.
 * - `customerExists` is asked only for a non-empty string id, at most once per status change.
 * - Whether the move itself is allowed (e.g. draft → approved) is `status-transition`'s matter.
 *
 * While the proposal is approved (or later: submitted, won, lost — read from the BEFORE view), what
 * approving required keeps holding: its customer changes only by an admin, and only to another
 * existing customer; `financial.value` stays > 0 (only an admin may change it then — that part is
 * `financial-review`'s, so a non-admin's change is not reported twice).
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

/** A change to an approved proposal's customer or value that would break what approving required, or null. */
const problemWhileApproved = ({ actor, before, customerExists }: RuleContext, path: string, newValue: unknown): string | null => {
  const status = before.get('meta', 'status')
  if (path === 'meta.customerId') {
    if (actor.role !== 'admin') return `the proposal is ${String(status)}; only an admin can change its customer`
    if (typeof newValue !== 'string' || newValue === '') return `the proposal is ${String(status)}: it needs a meta.customerId`
    if (!customerExists(newValue)) return `the proposal is ${String(status)}: it needs an existing customer, and customer/${newValue} does not exist`
    return null
  }
  if (path === 'financial.value' && actor.role === 'admin' && !(typeof newValue === 'number' && newValue > 0)) {
    return `the proposal is ${String(status)}: it needs financial.value > 0`
  }
  return null
}

export const approverRoleRule: Rule = {
  id: ID,
  appliesTo: ['proposal'],
  evaluate(context) {
    const violations: Violation[] = []
    let approved: boolean | undefined
    for (const change of context.changes) {
      if (isNoOp(change)) continue
      if (change.path === 'meta.customerId' || change.path === 'financial.value') {
        approved ??= isApprovedOrLater(context.before.get('meta', 'status'))
        const problem = approved ? problemWhileApproved(context, change.path, change.newValue) : null
        if (problem) violations.push({ ruleId: ID, outcome: 'reject', path: change.path, message: problem })
        continue
      }
      if (!isStatusChange(change)) continue
      if (change.newValue !== 'approved' && change.newValue !== 'rejected') continue
      const problems = problemsApproving(context, change.newValue)
      if (problems.length > 0) {
        violations.push({ ruleId: ID, outcome: 'reject', path: change.path, message: problems.join('; ') })
      }
    }
    return violations
  },
}
