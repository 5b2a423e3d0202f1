import * as Y from 'yjs'
import type { FieldChange, Violation } from '../../shared/rules/ruleTypes.ts'

/** The transaction origin of the server's own changes (compensations, admin changes). */
export const GATE_ORIGIN = Object.freeze({ name: 'posalpro-gate' })

/**
 * Records a peer's rich-text changes during one apply so a forbidden one can be undone exactly
 * (design §11: an UndoManager scoped to the type, tracking only that origin, captureTimeout 0).
 * Create it before the apply; `release()` it afterwards so it keeps nothing alive.
 */
export const trackTextChanges = (fragments: Y.XmlFragment[], origin: object): Y.UndoManager =>
  new Y.UndoManager(fragments, { trackedOrigins: new Set([origin]), captureTimeout: 0 })

/**
 * Compensation, not refusal (design §5): a CRDT replica cannot un-receive its own edit, so the
 * server restores the old value of each violating map field (or deletes a field the update added)
 * and undoes a violating rich-text edit, in one transaction with the server's own origin. Only the
 * violating paths are touched. Returns the compensating update, or null when nothing was violated.
 */
export const compensate = (
  doc: Y.Doc,
  changes: readonly FieldChange[],
  violations: readonly Violation[],
  textUndo: Y.UndoManager | null,
): Uint8Array | null => {
  if (violations.length === 0) return null
  const violating = new Set(violations.map((violation) => violation.path))
  let compensation: Uint8Array | null = null
  const capture = (update: Uint8Array, origin: unknown) => {
    if (origin === GATE_ORIGIN) compensation = update
  }
  doc.on('update', capture)
  try {
    doc.transact(() => {
      for (const change of changes) {
        if (!violating.has(change.path)) continue
        if (change.key === null) {
          // UndoManager.undo runs its own transact, which joins this one: one compensating update.
          if (textUndo && textUndo.undoStack.length > 0) textUndo.undo()
          continue
        }
        const map = doc.getMap<unknown>(change.root)
        if (change.oldValue === undefined) map.delete(change.key)
        else map.set(change.key, change.oldValue)
      }
    }, GATE_ORIGIN)
  } finally {
    doc.off('update', capture)
  }
  return compensation
}
