import * as Y from 'yjs'
import { rootNames } from '../shared/documentModel.ts'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import { encodeNotice, type Notice } from '../shared/extensionProtocol.ts'
import { evaluateRules } from '../shared/rules/index.ts'
import type { Actor, Violation } from '../shared/rules/ruleTypes.ts'
import { hasRole } from './auth/index.ts'
import { applyCapturingChanges, type CapturedChanges } from './gate/changeCapture.ts'
import { compensate, trackTextChanges } from './gate/compensation.ts'
import type { Peer } from './peer.ts'
import { encodePermissionDenied } from './protocol.ts'
import type { Room } from './room.ts'
import { checkUpdateStructure } from './updateGuard.ts'

/**
 * The write path (design §5), top to bottom, for one update from one peer:
 *
 *   decode-check → authorize → apply, capturing the change set → rules → compensate
 *   → persist update + compensation in one write → (once durable) ack the sender,
 *     broadcast the net update to the other peers and the compensation to the sender
 *
 * Everything up to "persist" runs synchronously in the room's frame order, so the state a rule
 * sees is exactly what the previous update left, and the outcome is deterministic. Persisting is
 * a group commit (groupCommit.ts); acks and broadcasts happen in Room.afterCommit, only once the
 * update is durable, so no replica ever sees a change the server could still lose.
 *
 * Returns the error to close the peer with, or null when the update was handled.
 */
export const acceptUpdate = (room: Room, peer: Peer, update: Uint8Array): CollabError | null => {
  // Every message is counted, so the ack tells the sender exactly which of its messages are durable.
  peer.updatesReceived++

  // 1. Decode-check: a cheap structural walk, before Yjs allocates anything for it.
  const check = checkUpdateStructure(update)
  if (!check.ok) return new CollabError(check.code, check.message)
  if (check.structs === 0 && check.deleteRanges === 0) {
    room.persist(null, peer) // nothing to store; acknowledged once everything before it is durable
    return null
  }

  // 2. Authorize: a viewer writes nothing; an update must stay within its document type's roots.
  if (!hasRole(peer.identity, 'editor')) {
    tellReadOnly(peer)
    room.persist(null, peer)
    return null
  }
  const { maps, richText } = rootNames(room.document.type)
  for (const root of check.roots) {
    if (!maps.includes(root) && !richText.includes(root)) {
      return new CollabError(ErrorCode.UnknownRoot, `a ${room.document.type} has no "${root.slice(0, 40)}"; it has ${[...maps, ...richText].join(', ')}`)
    }
  }

  if (!room.validationGate) return applyUnvalidated(room, peer, update)

  // 3. Apply, capturing the change set. A rich-text edit a rule may hold back is tracked so it can be undone.
  const textUndo = mayRefuseTextEdits(room, peer) ? trackTextChanges(richText.map((name) => room.doc.getXmlFragment(name)), peer) : null
  let captured: CapturedChanges
  try {
    captured = applyCapturingChanges(room.doc, room.document.type, update, peer)
  } catch (error) {
    textUndo?.destroy()
    return applyFailed(room, error)
  }
  if (room.doc.store.pendingStructs !== null || room.doc.store.pendingDs !== null) {
    // Its missing part would integrate later inside someone else's transaction, unvalidated and
    // credited to them (design §11). Drop it and let the client resync in order.
    textUndo?.destroy()
    void room.reloadFromDisk('update with missing dependencies')
    return new CollabError(ErrorCode.ResyncRequired, 'update depends on changes the server has not received; resync')
  }

  // 4. Rules, on the change set and the actor.
  const actor: Actor = {
    userId: peer.identity.userId,
    role: peer.identity.role,
    tenant: peer.identity.tenant,
    legal: peer.identity.legal,
  }
  const violations = evaluateRules({
    docType: room.document.type,
    actor,
    changes: captured.changes,
    before: captured.before,
    after: captured.after,
    customerExists: (customerId) => room.documentExists(`customer/${customerId}`),
  })

  // 5. Compensate only the violating fields, in the same step.
  const compensation = compensate(room.doc, captured.changes, violations, textUndo)
  textUndo?.destroy()

  // 6. Persist the update and its compensation as one write (one merged update: atomic on disk).
  //    Other peers get the net update; the sender gets the compensation of its own change.
  room.persist(compensation ? Y.mergeUpdates([update, compensation]) : update, peer, compensation)
  for (const violation of violations) peer.sendExtension(encodeNotice(noticeFor(violation)))
  if (violations.length > 0) {
    room.logger.info({ peer: peer.id, user: actor.userId, violations: violations.map((v) => `${v.ruleId}:${v.path}`) }, 'compensated')
  }
  return null
}

/** The write path without rules (validationGate off, for measuring the gate's cost). */
const applyUnvalidated = (room: Room, peer: Peer, update: Uint8Array): CollabError | null => {
  try {
    Y.applyUpdate(room.doc, update, peer)
  } catch (error) {
    return applyFailed(room, error)
  }
  room.persist(update, peer)
  return null
}

/** Y.applyUpdate threw: the doc may now hold part of the update, so get back to the durable state. */
const applyFailed = (room: Room, error: unknown): CollabError => {
  void room.reloadFromDisk(`apply failed: ${(error as Error).message}`)
  return new CollabError(ErrorCode.UpdateApplyFailed, `update could not be applied: ${(error as Error).message}`)
}

const noticeFor = (violation: Violation): Notice => ({
  outcome: violation.outcome === 'reject' ? 'rejected' : 'review',
  ruleId: violation.ruleId,
  path: violation.path,
  message: violation.message,
})

/** Rich-text edits are only ever held back in legal content docs (legal-review); track them only there. */
const mayRefuseTextEdits = (room: Room, peer: Peer): boolean =>
  room.document.type === 'content' &&
  room.doc.getMap('meta').get('legal') === true &&
  !peer.identity.legal &&
  peer.identity.role !== 'admin'

const READ_ONLY_MESSAGE = 'you have read-only access (viewer): your changes are not saved'

/** Told once per connection, not at every keystroke. */
const tellReadOnly = (peer: Peer): void => {
  if (peer.toldReadOnly) return
  peer.toldReadOnly = true
  peer.send(encodePermissionDenied(READ_ONLY_MESSAGE))
  peer.sendExtension(encodeNotice({ outcome: 'rejected', ruleId: 'read-only', path: '', message: READ_ONLY_MESSAGE }))
}
