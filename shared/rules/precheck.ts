import type { DocumentType } from '../documentName.ts'
import { evaluateRules } from './index.ts'
import type { Actor, DocumentView, FieldChange, Violation } from './ruleTypes.ts'

/** A field edit a user is about to make: set `value` (undefined deletes the field). */
export interface FieldEdit {
  readonly root: string
  readonly key: string
  readonly value: unknown
}

/**
 * Pre-checks edits on the client with exactly the rules the server enforces, against the
 * document as the client has it (grey out a forbidden button, offer only the status
 * transitions this user may make). The server has the last word: its state may have moved on.
 */
export const precheckEdits = (
  docType: DocumentType,
  actor: Actor,
  current: DocumentView,
  edits: readonly FieldEdit[],
  customerExists: (customerId: string) => boolean = () => true,
): Violation[] => {
  const changes: FieldChange[] = []
  const after = new Map<string, unknown>()
  for (const { root, key, value } of edits) {
    const oldValue = current.get(root, key)
    const action = value === undefined ? 'delete' : oldValue === undefined ? 'add' : 'update'
    changes.push({ root, key, path: `${root}.${key}`, action, oldValue, newValue: value })
    after.set(`${root}.${key}`, value)
  }
  const afterView: DocumentView = {
    get: (root, key) => (after.has(`${root}.${key}`) ? after.get(`${root}.${key}`) : current.get(root, key)),
  }
  return evaluateRules({ docType, actor, changes, before: current, after: afterView, customerExists })
}
