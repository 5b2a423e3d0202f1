import { approvedIsFinalRule } from './approvedIsFinalRule.ts'
import { approverRoleRule } from './approverRoleRule.ts'
import { customerRequiredRule } from './customerRequiredRule.ts'
import { financialReviewRule } from './financialReviewRule.ts'
import { higherRoleWinsRule } from './higherRoleWinsRule.ts'
import { legalReviewRule } from './legalReviewRule.ts'
import { readOnlyRule } from './readOnlyRule.ts'
import type { Rule, RuleContext, Violation } from './ruleTypes.ts'
import { schemaRule } from './schemaRule.ts'
import { statusTransitionRule } from './statusTransitionRule.ts'
import { teamAdminOnlyRule } from './teamAdminOnlyRule.ts'

/**
 * The rules engine: every rule, in the order that decides which one is reported when
 * several object to the same change.
 */

export type { Actor, DocumentView, FieldChange, Rule, RuleContext, RuleId, Violation } from './ruleTypes.ts'
export { atLeast, isRole, roleRank, withArticle } from './roles.ts'
export {
  approvedIsFinalRule,
  approverRoleRule,
  customerRequiredRule,
  financialReviewRule,
  higherRoleWinsRule,
  legalReviewRule,
  readOnlyRule,
  schemaRule,
  statusTransitionRule,
  teamAdminOnlyRule,
}

/**
 * Fixed order; for one path the first rule that objects is the one reported:
 * - `read-only` first: a viewer is told they cannot write, not what is wrong with the value;
 * - `customer-required` before `schema`: an emptied name or a bad email is reported under the
 *   business rule's id;
 * - `schema` before the business rules: a malformed value is reported as malformed;
 * - `approved-is-final` before `status-transition`: it owns "back to draft after approval";
 * - the review rules (`financial-review`, `legal-review`) last; a reject on the same path beats a
 *   review wherever it stands.
 */
export const RULES: readonly Rule[] = [
  readOnlyRule,
  customerRequiredRule,
  schemaRule,
  approvedIsFinalRule,
  statusTransitionRule,
  approverRoleRule,
  teamAdminOnlyRule,
  higherRoleWinsRule,
  financialReviewRule,
  legalReviewRule,
]

/**
 * Runs the rules that apply to the document type and returns at most one violation per path:
 * the first rule (in `RULES` order) that rejects it, or else the first that holds it for review.
 * Violations come in the order their paths first appear in the change set (then, for a path a
 * rule reported that is not in it, in the order reported), so the same input always gives the
 * same output. Cost: O(rules × changes).
 */
export const evaluateRules = (context: RuleContext, rules: readonly Rule[] = RULES): Violation[] => {
  const chosen = new Map<string, Violation>()
  for (const rule of rules) {
    if (!rule.appliesTo.includes(context.docType)) continue
    for (const violation of rule.evaluate(context)) {
      const current = chosen.get(violation.path)
      if (current === undefined || (current.outcome === 'review' && violation.outcome === 'reject')) {
        chosen.set(violation.path, violation)
      }
    }
  }
  if (chosen.size === 0) return []

  const position = new Map<string, number>()
  context.changes.forEach((change, index) => {
    if (!position.has(change.path)) position.set(change.path, index)
  })
  let unlisted = context.changes.length
  for (const path of chosen.keys()) if (!position.has(path)) position.set(path, unlisted++)
  return [...chosen.entries()]
    .sort(([a], [b]) => (position.get(a) ?? 0) - (position.get(b) ?? 0))
    .map(([, violation]) => violation)
}
