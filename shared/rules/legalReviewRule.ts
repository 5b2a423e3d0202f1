import type { Actor, Rule, Violation } from './ruleTypes.ts'

/**
 * `legal-review`, for content documents:
 * - an `edit` of `body` while the document is legal (`meta.legal === true` in the BEFORE view, so
 *   an update that clears the flag and edits the body in one go is still held) by an actor who is
 *   neither legal nor admin → `review`;
 * - flipping `meta.legal` (add, update or delete) by an actor who is neither legal nor admin →
 *   reject. "Flipping" means changing whether the document is legal (`=== true`): writing `false`
 *   to a document that had no flag, or deleting a `false`, changes nothing and is accepted, so an
 *   editor can create ordinary content whose meta spells `legal: false`. A non-boolean value
 *   replacing `true` counts as a flip (and `schema` rejects it anyway).
 * `meta.legal` is read from the before view at most once, and only when the body is edited.
 */

const ID = 'legal-review'

const mayHandleLegal = (actor: Actor): boolean => actor.legal || actor.role === 'admin'

export const legalReviewRule: Rule = {
  id: ID,
  appliesTo: ['content'],
  evaluate({ actor, before, changes }) {
    if (mayHandleLegal(actor)) return []
    const violations: Violation[] = []
    let legal: boolean | undefined
    for (const change of changes) {
      if (change.root === 'body' && change.action === 'edit') {
        legal ??= before.get('meta', 'legal') === true
        if (legal) {
          violations.push({
            ruleId: ID,
            outcome: 'review',
            path: change.path,
            message: 'this is legal content: body edits by users without legal rights are held for review',
          })
        }
      } else if (change.root === 'meta' && change.key === 'legal' && (change.oldValue === true) !== (change.newValue === true)) {
        violations.push({
          ruleId: ID,
          outcome: 'reject',
          path: change.path,
          message: 'only legal users or admins can change whether content is legal',
        })
      }
    }
    return violations
  },
}
