import * as Y from 'yjs'
import type { FieldChange, Violation } from '../../shared/rules/ruleTypes.ts'
import { restorePlainText } from './plainText.ts'
import { restoreRichText, snapshotRichText, type RichTextSnapshot } from './richTextRestore.ts'

/** The transaction origin of the server's own changes (compensations, admin changes). */
export const GATE_ORIGIN = Object.freeze({ name: 'posalpro-gate' })

/** The user id event records carry for the server's own changes (compensations, approvals, moves). */
export const SERVER_USER = 'server'

/**
 * Records the rich-text roots an update is about to touch, before it is applied, so a held edit
 * can be undone exactly (richTextRestore.ts: by identity, not with Y.UndoManager, whose undo of a
 * deletion over earlier copies can lose a character).
 */
export const snapshotTextRoots = (fragments: ReadonlyMap<string, Y.XmlFragment>): ReadonlyMap<string, RichTextSnapshot> =>
  new Map([...fragments].map(([root, fragment]) => [root, snapshotRichText(fragment)]))

/**
 * Compensation, not refusal: a CRDT replica cannot un-receive its own edit, so the
 * server restores the old value of each violating map field (or deletes a field the update added)
 * and restores a violating rich-text root to its state before the update, and a violating plain-text
 * root to its text before (one minimal splice), in one transaction with the server's own origin. Only the
 * violating paths are touched. Returns the compensating update, or null when nothing was violated.
 */
export const compensate = (
  doc: Y.Doc,
  changes: readonly FieldChange[],
  violations: readonly Violation[],
  textBefore: ReadonlyMap<string, RichTextSnapshot> | null,
): Uint8Array | null => {
  if (violations.length === 0) return null
  const violating = new Set(violations.map((violation) => violation.path))
  let compensation: Uint8Array | null = null
  const capture = (update: Uint8Array, origin: unknown) => {
    if (origin === GATE_ORIGIN) compensation = update
  }
  doc.on('update', capture)
  try {
    doc.transact((transaction) => {
      for (const change of changes) {
        if (!violating.has(change.path)) continue
        const root = doc.share.get(change.root)
        if (change.key === null && root instanceof Y.Text) {
          restorePlainText(root, typeof change.oldValue === 'string' ? change.oldValue : '', transaction)
          continue
        }
        if (change.key === null) {
          const before = textBefore?.get(change.root)
          if (before) restoreRichText(before)
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
