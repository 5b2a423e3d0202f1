import { customerFieldsSchema } from '../schemas.ts'
import type { FieldChange, Rule, Violation } from './ruleTypes.ts'

/**
 * `customer-required`: a customer's name is never emptied, and its email is valid.
 * - the `name` text root edited to an empty or whitespace-only text → reject;
 * - `fields.name` (its legacy form) deleted, or set to an empty or whitespace-only string → reject (whitespace-only
 *   passes the schema's `min(1)`, so this rule is what stops it); a name that is not a string at
 *   all is left to `schema`, whose message says what type was expected;
 * - `fields.email` set to a value that is not a valid email (the schema's own email check) →
 *   reject. Deleting the email is accepted: a customer may have none; only a present one must
 *   be valid.
 * Both paths are also checked by `schema`; this rule runs before it in `RULES`, so the business
 * rule is the one reported for them. Every write is checked, also a re-set of the same value.
 */

const ID = 'customer-required'

const emailSchema = customerFieldsSchema.shape.email

const problemWith = (change: FieldChange): string | null => {
  if (change.root === 'name' && change.key === null) {
    return typeof change.newValue === 'string' && change.newValue.trim() === '' ? 'a customer\'s name cannot be empty' : null
  }
  if (change.root !== 'fields' || change.action === 'edit') return null
  if (change.key === 'name') {
    if (change.newValue === undefined) return 'a customer\'s name cannot be removed'
    if (typeof change.newValue === 'string' && change.newValue.trim() === '') return 'a customer\'s name cannot be empty'
  } else if (change.key === 'email' && change.newValue !== undefined) {
    if (!emailSchema.safeParse(change.newValue).success) return 'a customer\'s email must be a valid email address'
  }
  return null
}

export const customerRequiredRule: Rule = {
  id: ID,
  appliesTo: ['customer'],
  evaluate({ changes }) {
    const violations: Violation[] = []
    for (const change of changes) {
      const problem = problemWith(change)
      if (problem !== null) violations.push({ ruleId: ID, outcome: 'reject', path: change.path, message: problem })
    }
    return violations
  },
}
