import * as Y from 'yjs'
import type { FieldChange, Violation } from '../../shared/rules/ruleTypes.ts'
import { GATE_ORIGIN } from './compensation.ts'
import type { Room } from '../rooms/room.ts'

/**
 * The maximum document size (`maxDocumentBytes`), enforced when writing, so every document the
 * server holds can be sent whole to a fresh joiner (its sync step 2) without passing the joiner's
 * send buffer limit.
 *
 * An update that could take the document past the maximum is compensated whole (a `document-size`
 * violation on every path it changed), not refused with a close: its sender's replica cannot
 * un-receive the edit, and a closed sender would resend it in its next handshake and be refused
 * again, losing every later edit too. Compensated, the sender converges on the document without
 * it, gets a notice and keeps editing; the other peers never see it.
 *
 * Cheap by bounds, not by encoding the document per update: the room keeps an upper bound of the
 * document's encoded size (exact when last measured, plus the bytes of every update stored since:
 * an update adds at most about its own size), and an update is refused when the bound plus its own
 * bytes passes the maximum. Only then is the document measured (Y.encodeStateAsUpdate, cost ∝ the
 * document: ~1 s for 7 MB of 50,000 map entries and 3,000 paragraphs on a loaded machine), and only
 * when at least REMEASURE_FRACTION of the maximum was added since the last measurement: a writer
 * hammering a full document costs one measurement per that many bytes, not one per update. The
 * price: within that fraction (1/64, 128 KiB of 8 MiB) of the maximum, an update can be refused
 * that would just have fit.
 */
export interface SizeRefusal {
  /** The document's state vector before the update: what lies beyond it for a client, the update brought. */
  readonly stateVectorBefore: Map<number, number>
  /** The measured (or bounded) size the update would have added to. */
  readonly size: number
}

export const DOCUMENT_SIZE_RULE = 'document-size'
const REMEASURE_FRACTION = 1 / 64

/** Before applying: null when the update fits under the maximum, else what refusing it needs. */
export const checkDocumentSize = (room: Room, update: Uint8Array): SizeRefusal | null => {
  const max = room.maxDocumentBytes
  if (room.encodedSizeBound + update.byteLength <= max) return null
  if (room.encodedSizeSlack >= max * REMEASURE_FRACTION && room.measureEncodedSize() + update.byteLength <= max) return null
  return { stateVectorBefore: Y.decodeStateVector(Y.encodeStateVector(room.doc)), size: room.encodedSizeBound + update.byteLength }
}

/** After the update was applied: one violation per path it changed (all of it is compensated), or null. */
export const sizeViolations = (room: Room, changes: readonly FieldChange[], refusal: SizeRefusal | null): Violation[] | null => {
  if (!refusal) return null
  const message = `this change would make the document about ${refusal.size} bytes, past its maximum of ${room.maxDocumentBytes}; it was not kept`
  const paths = [...new Set(changes.map((change) => change.path))]
  return (paths.length > 0 ? paths : ['']).map((path) => ({ ruleId: DOCUMENT_SIZE_RULE, outcome: 'reject', path, message }))
}

/**
 * Undoes a refused update, in one transaction with the gate's origin: deletes every item it
 * brought (cost ∝ its structs, not the text in them: a pasted 6 MiB paragraph is one item) and
 * gives each map field it overwrote or deleted its old value back. Deletions it made in rich text
 * stay deleted: they only shrink the document, and bringing text back costs ∝ the text.
 * Returns the compensating update.
 */
export const compensateWhole = (room: Room, refusal: SizeRefusal, changes: readonly FieldChange[]): Uint8Array | null => {
  const doc = room.doc
  let compensation: Uint8Array | null = null
  const capture = (update: Uint8Array, origin: unknown) => {
    if (origin === GATE_ORIGIN) compensation = update
  }
  doc.on('update', capture)
  try {
    doc.transact((transaction) => {
      for (const [client, structs] of doc.store.clients) {
        const from = refusal.stateVectorBefore.get(client) ?? 0
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
  return compensation
}
