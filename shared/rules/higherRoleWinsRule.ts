import type { Role } from '../schemas.ts'
import { isNoOp } from './changeValues.ts'
import { isRole, roleRank, withArticle } from './roles.ts'
import type { Rule, Violation } from './ruleTypes.ts'

/**
 * `higher-role-wins` for `approvals.<reviewerId>`:
 * - an update or delete of an approval whose author (`oldValue.role`) ranks above the actor →
 *   reject; the same or a higher rank may overwrite, and adding a new approval is fine;
 * - an approval that claims (`newValue.role`) a higher rank than the actor has → reject: you
 *   cannot sign as a manager when you are an editor.
 * Both are named in one message when both fail. An existing approval whose `role` is not a valid
 * role (corrupt data; `schema` keeps new ones valid) is treated as written by an admin: only an
 * admin may overwrite what cannot be ranked. A new value without a valid role claims nothing
 * here (`schema` rejects it). Re-setting an approval to the value it already has is not a change.
 * Whether the reviewer id is the actor's own is not this rule's matter (the design does not say).
 */

const ID = 'higher-role-wins'

const roleOf = (approval: unknown): unknown =>
  typeof approval === 'object' && approval !== null ? (approval as { readonly role?: unknown }).role : undefined

const authorRank = (approval: unknown): number => {
  const role = roleOf(approval)
  return isRole(role) ? roleRank(role) : roleRank('admin')
}

const describeAuthor = (approval: unknown): string => {
  const role = roleOf(approval)
  return isRole(role) ? withArticle(role) : 'an unknown role (only an admin may change it)'
}

const problemsWith = (actorRole: Role, oldValue: unknown, newValue: unknown, path: string): string[] => {
  const problems: string[] = []
  const actorRank = roleRank(actorRole)
  if (oldValue !== undefined && authorRank(oldValue) > actorRank) {
    problems.push(`${path} was decided by ${describeAuthor(oldValue)}; ${withArticle(actorRole)} cannot overwrite it`)
  }
  const claimed = roleOf(newValue)
  if (newValue !== undefined && isRole(claimed) && roleRank(claimed) > actorRank) {
    problems.push(`${withArticle(actorRole)} cannot sign an approval as ${claimed}`)
  }
  return problems
}

export const higherRoleWinsRule: Rule = {
  id: ID,
  appliesTo: ['proposal'],
  evaluate({ actor, changes }) {
    const violations: Violation[] = []
    for (const change of changes) {
      if (change.root !== 'approvals' || isNoOp(change)) continue
      const problems = problemsWith(actor.role, change.oldValue, change.newValue, change.path)
      if (problems.length > 0) {
        violations.push({ ruleId: ID, outcome: 'reject', path: change.path, message: problems.join('; ') })
      }
    }
    return violations
  },
}
