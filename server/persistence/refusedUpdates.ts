import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { REFUSED_UPDATE_BYTES_KEPT, type RefusedUpdate } from './eventLog.ts'

/**
 * What a compensated update costs on disk. Stored as received, with its compensation, a refused
 * 4 MiB title would stay 4 MiB in the document's updates until the next compaction and forever in
 * the event log (20 of them: 84 MB for a document holding a short title). A refused update above
 * REFUSED_UPDATE_BYTES_KEPT is stored instead as what it and its compensation left in the
 * document: its items with their content gone (Yjs keeps a deleted item as its id range only) and
 * what it kept, in full. Replicas and the event log's rebuild need exactly that, not the content;
 * its event records the size and hash of the update as received.
 */

/** Before applying: the document's state vector when the update is big enough to matter, else null. */
export const stateBeforeLargeUpdate = (doc: Y.Doc, update: Uint8Array): Uint8Array | null =>
  update.byteLength > REFUSED_UPDATE_BYTES_KEPT ? Y.encodeStateVector(doc) : null

export interface StoredRefusal {
  /** What the event of the received update keeps. */
  readonly update: Uint8Array
  /** What the document stores for the update and its compensation, and what the other peers get. */
  readonly net: Uint8Array
  readonly refused?: RefusedUpdate
}

/** After compensating: what to store for a compensated update (as received when it is small). */
export const storedRefusal = (doc: Y.Doc, update: Uint8Array, compensation: Uint8Array, stateBefore: Uint8Array | null): StoredRefusal => {
  if (stateBefore === null) return { update, net: Y.mergeUpdates([update, compensation]) }
  // Everything since the state before (the update's items, the compensation's) as the document
  // holds it now, content of deleted items dropped, with the document's delete set.
  const net = Y.encodeStateAsUpdate(doc, stateBefore)
  return { update: net, net, refused: refusedUpdate(update) }
}

/** The size and hash of a refused update whose bytes are not kept. */
export const refusedUpdate = (update: Uint8Array): RefusedUpdate => ({
  bytes: update.byteLength,
  sha256: createHash('sha256').update(update).digest('hex'),
})
