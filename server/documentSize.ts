import * as Y from 'yjs'
import type { FieldChange, Violation } from '../shared/rules/ruleTypes.ts'
import { GATE_ORIGIN } from './gate/compensation.ts'
import type { Room } from './room.ts'

/**
 * The maximum document size (`maxDocumentBytes`), enforced when writing, so every document the
 * server holds can be sent whole to a fresh joiner (its sync step 2) without passing the joiner's
 * send buffer limit.
 *
 * An update that would take the document past the maximum is compensated whole (a `document-size`
 * violation on every path it changed), not refused with a close: its sender's replica cannot
 * un-receive the edit, and a closed sender would resend it in its next handshake and be refused
 * again, losing every later edit too. Compensated, the sender converges on the document without
 * it, gets a notice and keeps editing; the other peers never see it.
 *
 * The room keeps an upper bound of the document's encoded size (exact when last measured, plus the
 * bytes of every update stored since: an update adds at most about its own size). Only an update
 * that could pass the maximum by that bound has the document measured (Y.encodeStateAsUpdate,
 * cost ∝ the document), once before it is applied and once after: ordinary edits cost nothing.
 */
export interface SizeCheck {
  /** The document's state vector before the update: what lies beyond it for a client, the update brought. */
  readonly stateVectorBefore: Map<number, number>
}

export const DOCUMENT_SIZE_RULE = 'document-size'

/** Before applying: null when the update cannot take the document past the maximum. */
export const checkSizeBefore = (room: Room, update: Uint8Array): SizeCheck | null => {
  if (room.encodedSizeBound + update.byteLength <= room.maxDocumentBytes) return null
  if (room.measureEncodedSize() + update.byteLength <= room.maxDocumentBytes) return null
  return { stateVectorBefore: Y.decodeStateVector(Y.encodeStateVector(room.doc)) }
}

/**
 * After the update was applied: one violation per changed path when the document is now past the
 * maximum (everything the update did is compensated, by `compensateWhole`); null when it fits.
 */
export const sizeViolations = (room: Room, changes: readonly FieldChange[], check: SizeCheck | null): Violation[] | null => {
  if (!check) return null
  const size = room.measureEncodedSize()
  if (size <= room.maxDocumentBytes) return null
  const message = `this change would make the document ${size} bytes, past its maximum of ${room.maxDocumentBytes}; it was not kept`
  const paths = [...new Set(changes.map((change) => change.path))]
  return (paths.length > 0 ? paths : ['']).map((path) => ({ ruleId: DOCUMENT_SIZE_RULE, outcome: 'reject', path, message }))
}

/**
 * Undoes an update that passed the maximum, in one transaction with the gate's origin: deletes
 * every item it brought (cost ∝ its structs, not the text in them: a pasted 6 MiB paragraph is one
 * item) and gives each map field it overwrote or deleted its old value back. Deletions it made in
 * rich text stay deleted: they only shrink the document, and bringing text back costs ∝ the text.
 * Returns the compensating update.
 */
export const compensateWhole = (room: Room, check: SizeCheck, changes: readonly FieldChange[]): Uint8Array | null => {
  const doc = room.doc
  let compensation: Uint8Array | null = null
  const capture = (update: Uint8Array, origin: unknown) => {
    if (origin === GATE_ORIGIN) compensation = update
  }
  doc.on('update', capture)
  try {
    doc.transact((transaction) => {
      for (const [client, structs] of doc.store.clients) {
        const from = check.stateVectorBefore.get(client) ?? 0
        const last = structs.at(-1)
        if (!last || last.id.clock + last.length <= from) continue
        for (let index = from === 0 ? 0 : Y.findIndexSS(structs, from); index < structs.length; index++) {
          const struct = structs[index]
          if (struct instanceof Y.Item && !struct.deleted) struct.delete(transaction)
        }
      }
      for (const change of changes) {
        if (change.key === null || change.oldValue === undefined || change.oldValue instanceof Y.AbstractType) continue
        doc.getMap<unknown>(change.root).set(change.key, change.oldValue)
      }
    }, GATE_ORIGIN)
  } finally {
    doc.off('update', capture)
  }
  room.measureEncodedSize()
  return compensation
}
