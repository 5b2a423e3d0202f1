import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import type { Peer } from './peer.ts'
import type { Room } from './room.ts'
import { checkUpdateStructure } from './updateGuard.ts'

/**
 * The write path (design §5), top to bottom, for one update from one peer:
 *
 *   decode-check → authorize → apply → [rules → compensate: issue C] → persist → ack → broadcast
 *
 * Everything up to "persist" runs synchronously in the room's frame order, so the document state a
 * step sees is exactly the state the previous update left. Persisting is a group commit (see
 * groupCommit.ts); acks and the broadcast to other peers happen in Room.afterCommit, only once
 * the update is durable, so no replica ever sees a change the server could still lose.
 *
 * Returns the error to close the peer with, or null when the update was accepted.
 */
export const acceptUpdate = (room: Room, peer: Peer, update: Uint8Array): CollabError | null => {
  // Every message is counted, so the ack tells the sender exactly which of its messages are durable.
  peer.updatesReceived++
  // 1. Decode-check: a cheap structural walk, before Yjs allocates anything for it.
  const check = checkUpdateStructure(update)
  if (!check.ok) return new CollabError(check.code, check.message)

  // 2. Authorize: issue B (identity) decides here whether this peer may write at all.

  // 3. Apply, with the peer as transaction origin so observers can attribute the change.
  try {
    Y.applyUpdate(room.doc, update, peer)
  } catch (error) {
    // The doc may now hold part of the update: get back to the durable state.
    void room.reloadFromDisk(`apply failed: ${(error as Error).message}`)
    return new CollabError(ErrorCode.UpdateApplyFailed, `update could not be applied: ${(error as Error).message}`)
  }

  // 4. Rules and compensation: issue C (the semantic validation gate) goes here.

  // 5. Persist. Even an update that changed nothing is queued (with no bytes) so its sender is
  //    acknowledged once everything before it is durable.
  room.persist(check.structs > 0 || check.deleteRanges > 0 ? update : null, peer)
  return null
}
