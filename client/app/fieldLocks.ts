import type * as Y from 'yjs'
import type { DocumentType } from '../../shared/documentName.ts'
import { precheckEdits } from '../../shared/rules/precheck.ts'
import type { Actor, DocumentView, RuleId } from '../../shared/rules/ruleTypes.ts'
import { withFieldLabels } from './fieldLabels.ts'

/**
 * The rules that lock a field for someone whatever value they type (who may change it, in which
 * state of the document). Rules about the value itself (schema, a customer's valid email) are not
 * locks: the field stays open and the value is judged when written.
 */
const LOCKING_RULES: ReadonlySet<RuleId> = new Set(['approver-role', 'financial-review', 'approved-is-final', 'team-admin-only'])

/** A different value of the same kind as `current`: what a user could type into the field. */
const probeFor = (current: unknown): unknown => {
  if (typeof current === 'number') return Math.abs(current) + 1 // positive: a value rule (> 0) is no lock
  if (typeof current === 'boolean') return !current
  if (typeof current === 'string' && current !== '') return `${current}-changed`
  return 1 // an empty field: a number is as good a probe as any (value rules are not locks)
}

/**
 * Why `actor` cannot change `root.key` of the document now (null: they can), by asking the shared
 * rules — the server's own — about an edit of that field: an approved proposal's customer and
 * figures are refused to anyone but an admin, for instance. The reason is the rule's message in the
 * form's words.
 */
export const lockReasons = (type: DocumentType, actor: Actor, doc: Y.Doc) => {
  const view: DocumentView = { get: (root, key) => doc.getMap(root).get(key) }
  return (map: Y.Map<unknown>, key: string): string | null => {
    const root = rootName(doc, map)
    if (root === null) return null
    const violations = precheckEdits(type, actor, view, [{ root, key, value: probeFor(view.get(root, key)) }], () => true)
    const lock = violations.find((violation) => violation.outcome === 'reject' && LOCKING_RULES.has(violation.ruleId))
    return lock ? withFieldLabels(type, lock.message) : null
  }
}

/** The name under which `map` is a root of `doc` (the rules speak of `root.key`), or null. */
const rootName = (doc: Y.Doc, map: Y.Map<unknown>): string | null => {
  for (const [name, type] of doc.share) if ((type as unknown) === map) return name
  return null
}
