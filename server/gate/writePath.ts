import { notifyChangeOutcomes } from '../notifications/changeNotifications.ts'
import * as Y from 'yjs'
import { rootNames } from '../../shared/documentModel.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { encodeNotice, type Notice } from '../../shared/extensionProtocol.ts'
import { evaluateRules } from '../../shared/rules/index.ts'
import type { Actor, FieldChange, RuleContext, Violation } from '../../shared/rules/ruleTypes.ts'
import { REFUSED_UPDATE_BYTES_KEPT, type EventRecord } from '../persistence/eventLog.ts'
import { refusedUpdate, stateBeforeLargeUpdate, storedRefusal } from '../persistence/refusedUpdates.ts'
import { heldReviewItems, heldTextProposals, tellHeldOnce } from '../reviews/reviewSession.ts'
import { hasRole } from '../auth/index.ts'
import { applyCapturingChanges, type CapturedChanges } from './changeCapture.ts'
import { checkClientIds, type OwnerClaim } from './clientOwnership.ts'
import { compensate, SERVER_USER, snapshotTextRoots } from './compensation.ts'
import { foldLegacyTextWrites, LEGACY_TEXT_RULE } from './legacyTextFields.ts'
import { missingDependencies } from './missingDependencies.ts'
import { checkNestingDepth } from './nestingDepth.ts'
import { currentItems, detectConflicts, fieldsSetBy, maySetFields, NO_CONCURRENT_WRITES, setsMapKeys, type CurrentItems, type DetectedWrites } from './conflicts.ts'
import { conflictRecords, resolveByTime, TIMESTAMP_WINS, withTheirTimes, type TimedResolution } from './timestampWins.ts'
import { tellConflicts } from './conflictNotices.ts'
import type { Peer } from '../connection/peer.ts'
import { encodePermissionDenied } from '../protocol/protocol.ts'
import type { Room } from '../rooms/room.ts'
import { checkUpdateStructure } from '../protocol/updateGuard.ts'
import { checkDocumentSize, compensateWhole, sizeViolations } from './documentSize.ts'
import { captureNetUpdate } from './netUpdate.ts'

/**
 * The write path, top to bottom, for one update from one peer:
 *
 *   decode-check → authorize → nesting depth → client ids → apply, capturing the change set
 *   → rules (or the maximum size) → compensate → the later of concurrent field writes wins
 *   → fold legacy-form free-text writes into their text roots
 *   → persist update + compensation in one write → (once durable) ack the sender,
 *     broadcast the net update to the other peers and the compensation to the sender
 *
 * Everything up to "persist" runs synchronously in the room's frame order, so the state a rule
 * sees is exactly what the previous update left, and the outcome is deterministic. Persisting is
 * a group commit (groupCommit.ts); acks and broadcasts happen in Room.afterCommit, only once the
 * update is durable, so no connected peer is sent a change the server could still lose. (A peer
 * joining meanwhile gets the in-memory state in its sync step 2, which may include updates whose
 * write is still in flight; if that write fails, the room is discarded and every peer resyncs.)
 *
 * Returns the error to close the peer with, or null when the update was handled.
 */
export const acceptUpdate = (
  room: Room,
  peer: Peer,
  update: Uint8Array,
  step: 'sync-step-2' | 'update' = 'update',
): CollabError | null => {
  // Every message is counted, so the ack tells the sender exactly which of its messages are durable.
  peer.updatesReceived++

  // 1. Decode-check: a cheap structural walk, before Yjs allocates anything for it.
  const check = checkUpdateStructure(update)
  if (!check.ok) return new CollabError(check.code, check.message)
  if (check.structs === 0 && check.deleteRanges === 0) {
    room.persist({ update: null, source: peer }) // nothing to store; acknowledged once everything before it is durable
    return null
  }

  // 2. Authorize: a viewer writes nothing; an update must stay within its document type's roots.
  if (!hasRole(peer.identity, 'editor')) {
    // A stock client's sync-step-2 reply carries its whole delete set on every reconnect: a viewer
    // that never edited must not be told off (or audited) for it. Only content new to the server counts.
    if (step === 'sync-step-2' && !hasNewStructs(room, update)) {
      room.persist({ update: null, source: peer })
      return null
    }
    tellReadOnly(peer)
    // Not applied; recorded (with the bytes, for the audit trail) and acknowledged as handled.
    // Never applied, so never needed for a rebuild: above the kept size only its size and hash are.
    const big = update.byteLength > REFUSED_UPDATE_BYTES_KEPT
    const refused = {
      ...eventOf(room, peer, { outcome: 'rejected', ruleIds: ['read-only'], paths: [], update: big ? new Uint8Array() : update }),
      ...(big ? { refused: refusedUpdate(update) } : {}),
      applied: false,
    }
    room.metrics.updates.inc({ outcome: 'read-only' })
    room.persist({ update: null, source: peer, events: [refused] })
    return null
  }
  const { maps, richText, text } = rootNames(room.document.type)
  for (const root of check.roots) {
    if (!maps.includes(root) && !richText.includes(root) && !text.includes(root)) {
      return new CollabError(ErrorCode.UnknownRoot, `a ${room.document.type} has no "${root.slice(0, 40)}"; it has ${[...maps, ...richText, ...text].join(', ')}`)
    }
  }
  // Items without a key in a map root are invisible to the map (and to every rule) but stored and synced.
  for (const root of check.unkeyedRoots) {
    if (maps.includes(root)) return new CollabError(ErrorCode.UnkeyedMapContent, `"${root}" is a map: every item in it needs a key`)
  }

  // An update that needs changes the server has not received would integrate only partly (the
  // rest later, inside someone else's transaction): refused whole, before it touches the doc.
  const missing = missingDependencies(room.doc, check.dependencies)
  if (missing !== null) return new CollabError(ErrorCode.ResyncRequired, `update depends on changes the server has not received (${missing}); resync`)

  // Nesting: a tree too deep for the stack of whatever walks it (server, CLI, every client) is refused
  // whole. Only a new shared type can nest deeper: a keystroke is not decoded again for it.
  const tooDeep = check.createsTypes ? checkNestingDepth(room.doc, update, room.maxRichTextDepth) : null
  if (tooDeep) return tooDeep

  // Client ids: new clocks only under ids that are this user's (or nobody's yet), no GC range nobody wrote.
  const ownership = checkClientIds(room, peer, check.dependencies)
  if ('error' in ownership) return ownership.error
  const { claims } = ownership

  if (!room.validationGate) return applyUnvalidated(room, peer, update, claims)

  // 3. Apply, capturing the change set. Where a rule may hold a rich-text edit back, the rich-text
  //    roots are recorded first so they can be restored exactly (cost ∝ the text; an update names
  //    nested parents by id, so which root it touches is only known after applying it). The fields'
  //    current items of the fields the update sets are noted to recognise concurrent overwrites
  //    (conflicts): read from the update, so the cost is the update's, not the document's.
  //    An update that would take the document past its maximum size is refused (compensated whole).
  //    Only an update that can set a map field is decoded for that (a keystroke is not).
  const structs = maySetFields(room.doc, check.dependencies) ? Y.decodeUpdate(update).structs : null
  const fieldsBefore: CurrentItems = structs ? currentItems(room.doc, room.document.type, fieldsSetBy(room.doc, structs)) : new Map()
  const sizeRefusal = checkDocumentSize(room, update)
  const stateBefore = stateBeforeLargeUpdate(room.doc, update)
  const textBefore = mayRefuseTextEdits(room, peer)
    ? snapshotTextRoots(new Map(richText.map((name) => [name, room.doc.getXmlFragment(name)])))
    : null
  let captured: CapturedChanges
  let changedDocument = false
  const watch = (transaction: Y.Transaction) => {
    if (transaction.origin === peer) changedDocument = transactionChangedDocument(transaction)
  }
  // A sync step 2 carries its sender's whole delete set: stored and passed on is what it changed.
  const net = step === 'sync-step-2' ? captureNetUpdate(room.doc, peer) : null
  let netUpdate = update
  room.doc.on('afterTransaction', watch)
  try {
    captured = applyCapturingChanges(room.doc, room.document.type, update, peer, check.roots)
  } catch (error) {
    return applyFailed(room, error)
  } finally {
    room.doc.off('afterTransaction', watch)
    netUpdate = net?.stop() ?? update
  }
  if (room.doc.store.pendingStructs !== null || room.doc.store.pendingDs !== null) {
    // A safety net behind missingDependencies: its missing part would integrate later inside someone
    // else's transaction, unvalidated and credited to them. Drop it and resync.
    void room.reloadFromDisk('update with missing dependencies')
    return new CollabError(ErrorCode.ResyncRequired, 'update depends on changes the server has not received; resync')
  }
  if (!changedDocument) {
    // Everything in it was known (a stock client's reconnect carries its whole delete set): no
    // change, so nothing to store or audit; acknowledged once everything before it is durable.
    room.persist({ update: null, source: peer })
    return null
  }

  // Conflicts: fields this update overwrote without having seen their current value (and the edit
  // times it carried). Only an update that set map keys can have; only then is it decoded for that.
  const detected = structs && setsMapKeys(room.doc, check.dependencies.brought)
    ? detectConflicts(room.doc, structs, fieldsBefore, peer.identity.userId, room.clientOwners.users)
    : NO_CONCURRENT_WRITES
  room.clientOwners.record(claims)

  // 4. Rules, on the change set and the actor — unless the update would take the document past its
  //    maximum size: then every path it changed is compensated.
  const actor: Actor = {
    userId: peer.identity.userId,
    role: peer.identity.role,
    tenant: peer.identity.tenant,
    legal: peer.identity.legal,
  }
  const oversize = sizeViolations(room, captured.changes, sizeRefusal)
  const violations = oversize ?? evaluateRules({ ...ruleContext(room, actor, captured.changes), before: captured.before, after: captured.after })

  // 5. Compensate only the violating fields (and the edit times written with them), in the same
  //    step. A rich-text edit held for review is recorded as proposed first, so approving it can
  //    bring exactly that text back.
  const textProposals = heldTextProposals(room, peer, update, violations)
  const refusedWithTimes = withTheirTimes(violations, captured.changes)
  const compensation =
    oversize && sizeRefusal
      ? compensateWhole(room, sizeRefusal, captured.changes)
      : compensate(room.doc, captured.changes, refusedWithTimes, textBefore)
  const refusedPaths = new Set(refusedWithTimes.map((violation) => violation.path))

  // 5b. Timestamp-wins: of concurrent writes to a field the later is kept, and every accepted field
  //     write leaves its time (bounded by the server's clock) in `editedAt` — the server writes what
  //     Yjs's order or the client left otherwise, in the same step.
  const timed = laterWriteWins(room, peer, actor, detected, fieldsBefore, captured.changes, refusedPaths)

  // 5c. A free-text field written in its legacy form (a map key, by a client that had not synced
  //     since it became a text root) is folded into its text root, so that edit is kept too.
  const folded = foldLegacyTextWrites(room.doc, room.document.type, captured.changes, new Set(violations.map((violation) => violation.path)))
  const serverChange = serverChanges([compensation, timed.update, folded?.update])

  // 6. Persist the update, the server's changes of this step, their event records and the review
  //    items it opened or merged into (one per editing session: reviewSession.ts) as one atomic
  //    write. Other peers get the net update; the sender gets the server's changes.
  const ruleIds = violations.length === 0 ? [] : [...new Set(violations.map((violation) => violation.ruleId))]
  const outcome = violations.length === 0 ? 'accepted' : violations.some((v) => v.outcome === 'reject') ? 'rejected' : 'review'
  // A big compensated update is stored as what it left in the document, not as received.
  const stored = serverChange ? storedRefusal(room.doc, netUpdate, serverChange, compensation ? stateBefore : null) : null
  const event = eventOf(room, peer, { outcome, ruleIds, paths: uniquePaths(captured.changes), update: stored?.update ?? netUpdate })
  const received: EventRecord = stored?.refused ? { ...event, refused: stored.refused } : event
  room.metrics.updates.inc({ outcome })
  for (const violation of violations) room.metrics.violations.inc({ rule: violation.ruleId, outcome: violation.outcome })
  const events = [received]
  if (compensation) {
    const paths = violations.map((violation) => violation.path)
    events.push(asServer(eventOf(room, peer, { outcome: 'compensation', ruleIds, paths, update: compensation })))
  }
  if (timed.update) {
    events.push(asServer(eventOf(room, peer, { outcome: 'compensation', ruleIds: [TIMESTAMP_WINS], paths: timed.paths, update: timed.update })))
  }
  if (folded) events.push(asServer(eventOf(room, peer, { outcome: 'admin', ruleIds: [LEGACY_TEXT_RULE], paths: folded.paths, update: folded.update })))
  const held = heldReviewItems(room, peer, captured, violations, received.seq, textProposals)
  const conflicts = conflictRecords(timed.conflicts, received.seq)
  room.persist({
    update: stored?.net ?? netUpdate,
    source: peer,
    echo: serverChange,
    owners: serverChange ? [...claims, ...room.clientOwners.serverClaim(room.doc)] : claims,
    events,
    reviews: held.items,
    conflicts,
  })
  tellConflicts(room, peer, conflicts)
  notifyChangeOutcomes(room, peer, violations, conflicts)
  for (const violation of violations) {
    if (violation.outcome === 'review') tellHeldOnce(peer, noticeFor(violation), held.itemOf.get(violation.path))
    else peer.sendExtension(encodeNotice(noticeFor(violation)))
  }
  if (violations.length > 0) {
    room.logger.info({ peer: peer.id, user: actor.userId, violations: violations.map((v) => `${v.ruleId}:${v.path}`) }, 'compensated')
  }
  return null
}

/** The write path without rules (validationGate off, for measuring the gate's cost). */
const applyUnvalidated = (room: Room, peer: Peer, update: Uint8Array, claims: readonly OwnerClaim[]): CollabError | null => {
  try {
    Y.applyUpdate(room.doc, update, peer)
  } catch (error) {
    return applyFailed(room, error)
  }
  room.clientOwners.record(claims)
  room.persist({ update, source: peer, owners: claims, events: [eventOf(room, peer, { outcome: 'accepted', ruleIds: [], paths: [], update })] })
  room.metrics.updates.inc({ outcome: 'accepted' })
  return null
}

/** Did a transaction add structs or delete anything? (Yjs lists only new deletions in its delete set.) */
const transactionChangedDocument = (transaction: Y.Transaction): boolean => {
  if (transaction.deleteSet.clients.size > 0) return true
  for (const [client, clock] of transaction.afterState) if (transaction.beforeState.get(client) !== clock) return true
  return false
}

/** Does the update carry structs the server does not have (beyond its state vector)? */
const hasNewStructs = (room: Room, update: Uint8Array): boolean => {
  const known = Y.decodeStateVector(room.stateVector())
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVectorFromUpdate(update))) {
    if (clock > (known.get(client) ?? 0)) return true
  }
  return false
}

const eventOf = (
  room: Room,
  peer: Peer,
  { outcome, ruleIds, paths, update }: Pick<EventRecord, 'outcome' | 'ruleIds' | 'paths' | 'update'>,
): EventRecord => ({
  seq: room.nextEventSeq(),
  at: Date.now(),
  userId: peer.identity.userId,
  ...(peer.identity.name ? { userName: peer.identity.name } : {}),
  device: peer.identity.device,
  outcome,
  ruleIds,
  paths,
  update,
  applied: true,
})

/** The server's own change of a step: recorded as the server's, not under the sender's name. */
const asServer = ({ userName: _sender, ...event }: EventRecord): EventRecord => ({ ...event, userId: SERVER_USER })

/** A keystroke changes one path: no Set for it. */
const uniquePaths = (changes: readonly FieldChange[]): string[] =>
  changes.length === 1 ? [changes[0]!.path] : [...new Set(changes.map((change) => change.path))]

/** The server's own changes of one step as one update (null: none). */
const serverChanges = (changes: ReadonlyArray<Uint8Array | null | undefined>): Uint8Array | null => {
  const present = changes.filter((change): change is Uint8Array => change != null)
  if (present.length === 0) return null
  return present.length === 1 ? present[0]! : Y.mergeUpdates(present)
}

/** Y.applyUpdate threw: the doc may now hold part of the update, so get back to the durable state. */
const applyFailed = (room: Room, error: unknown): CollabError => {
  void room.reloadFromDisk(`apply failed: ${(error as Error).message}`)
  return new CollabError(ErrorCode.UpdateApplyFailed, `update could not be applied: ${(error as Error).message}`)
}

/** Timestamp-wins (gate/timestampWins.ts) for one update of `peer`, its writes judged by the rules like edits. */
const laterWriteWins = (
  room: Room,
  peer: Peer,
  actor: Actor,
  detected: DetectedWrites,
  before: CurrentItems,
  changes: readonly FieldChange[],
  refusedPaths: ReadonlySet<string>,
): TimedResolution =>
  resolveByTime({
    doc: room.doc,
    docType: room.document.type,
    detected,
    before,
    changes,
    refusedPaths,
    now: Date.now(),
    nameOf: (userId) => nameOf(room, peer, userId),
    mayWrite: (change, userId) => evaluateRules(ruleContext(room, actorOf(room, peer, actor, userId), [change])).length === 0,
  })

/** What the rules judge `changes` by, on the document as it is now with `changes` applied. */
const ruleContext = (room: Room, actor: Actor, changes: readonly FieldChange[]): RuleContext => {
  const current = { get: (root: string, key: string) => (room.doc.share.has(root) ? room.doc.getMap<unknown>(root).get(key) : undefined) }
  const changed = (root: string, key: string) => changes.find((change) => change.root === root && change.key === key)
  return {
    docType: room.document.type,
    actor,
    changes,
    before: { get: (root, key) => { const change = changed(root, key); return change ? change.oldValue : current.get(root, key) } },
    after: { get: (root, key) => { const change = changed(root, key); return change ? change.newValue : current.get(root, key) } },
    customerExists: (customerId) => room.documentExists(`customer/${customerId}`),
  }
}

/**
 * Who the server's write for a later value acts as: its writer when connected (the sender, or a
 * connection of theirs), otherwise the sender — the rules then judge it as the sender's edit.
 */
const actorOf = (room: Room, sender: Peer, senderActor: Actor, userId: string): Actor => {
  if (userId === sender.identity.userId) return senderActor
  for (const { identity } of room.peers) {
    if (identity.userId === userId) return { userId, role: identity.role, tenant: identity.tenant, legal: identity.legal }
  }
  return senderActor
}

/** A user's display name: the sender's, or that of a connection of theirs in the room. */
const nameOf = (room: Room, sender: Peer, userId: string): string | undefined => {
  if (userId === sender.identity.userId) return sender.identity.name
  for (const peer of room.peers) if (peer.identity.userId === userId) return peer.identity.name
  return undefined
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
  room.doc.share.has('meta') &&
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
