import { DOCUMENT_TYPES } from '../documentName.ts'
import type { Rule } from './ruleTypes.ts'

/**
 * `read-only`: a viewer writes nothing. Every change by a viewer is rejected, also one
 * that re-sets a value it already had (a viewer has no business writing at all). The server also
 * refuses viewers' updates before they are applied; this rule is what the client pre-checks with
 * and what holds if that ever changes.
 */

const ID = 'read-only'

export const readOnlyRule: Rule = {
  id: ID,
  appliesTo: DOCUMENT_TYPES,
  evaluate({ actor, changes }) {
    if (actor.role !== 'viewer') return []
    return changes.map((change) => ({
      ruleId: ID,
      outcome: 'reject',
      path: change.path,
      message: `viewers cannot change documents (${change.path})`,
    }))
  },
}
