import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import type { Peer } from './peer.ts'
import type { Room } from './room.ts'
import { checkUpdateStructure } from './updateGuard.ts'
import { hasRole, type Identity } from './auth/index.ts'
import { encodeNotice } from '../shared/extensionProtocol.ts'
import { encodePermissionDenied } from './protocol.ts'

const canWrite = (identity: Identity): boolean => hasRole(identity, 'editor')

const READ_ONLY_MESSAGE = 'you have read-only access (viewer): your changes are not saved'

const tellReadOnly = (peer: Peer): void => {
  if (peer.toldReadOnly) return
  peer.toldReadOnly = true
  peer.send(encodePermissionDenied(READ_ONLY_MESSAGE))
  peer.sendExtension(encodeNotice({ outcome: 'rejected', ruleId: 'read-only', path: '', message: READ_ONLY_MESSAGE }))
}

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

  // 2. Authorize: a viewer writes nothing. Its change is not applied, persisted or broadcast; it is
  //    told once, and the message is still acknowledged (the ack's count says "handled"; its state
  //    vector never covers the change, so the viewer's client never reports it saved).
  if (!canWrite(peer.identity)) {
    if (check.structs > 0 || check.deleteRanges > 0) tellReadOnly(peer)
    room.persist(null, peer)
    return null
  }

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
