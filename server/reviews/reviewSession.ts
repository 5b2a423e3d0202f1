import * as Y from 'yjs'
import { randomUUID } from 'node:crypto'
import { rootNames } from '../../shared/documentModel.ts'
import { encodeNotice, type Notice } from '../../shared/extensionProtocol.ts'
import type { FieldChange, Violation } from '../../shared/rules/ruleTypes.ts'
import type { CapturedChanges } from '../gate/changeCapture.ts'
import { richTextContent, snapshotRichText, storableRichText, type NodeSnapshot } from '../gate/richTextRestore.ts'
import type { Peer } from '../connection/peer.ts'
import type { Room } from '../rooms/room.ts'
import type { ReviewChange, ReviewItem } from './reviewItem.ts'

/**
 * One review item per editing session. A held edit of a field by a proposer who already has a
 * pending item for that field of the document is merged into it: its proposed value becomes the
 * latest, its base stays the value before the first held edit (what approving checks the field
 * against), proposedAt and updatedAt move. The event log still records every update. An item
 * decided meanwhile is no longer pending (PendingReviews), so the next held edit opens a new one.
 * Everything here runs in the room's write order, before the write is queued.
 */

/**
 * The rich-text roots whose edit is held, as the proposer's editor reads them after it (null: not
 * storable). Every update of a proposer who has a replica goes to it first, held or not, so the
 * replica keeps up with their edits (Yjs needs each client's changes in order). An edit the replica
 * cannot take (it builds on someone else's change the replica lacks) seeds it again from the
 * document as it now reads with that edit: what the proposer's editor shows then too, since it
 * received the compensations of the earlier held edits.
 */
export const heldTextProposals = (
  room: Room,
  peer: Peer,
  update: Uint8Array,
  violations: readonly Violation[],
): ReadonlyMap<string, NodeSnapshot[] | null> => {
  const userId = peer.identity.userId
  for (const { root, doc } of room.reviews.replicasOf(userId)) {
    try {
      Y.applyUpdate(doc, update)
    } catch {
      room.reviews.dropReplica(userId, root)
      continue
    }
    if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) room.reviews.dropReplica(userId, root)
  }
  const { richText } = rootNames(room.document.type)
  const roots = new Set(violations.filter((violation) => violation.outcome === 'review' && richText.includes(violation.path)).map((violation) => violation.path))
  return new Map(
    [...roots].map((root) => {
      // Seeded before the compensation runs: the room's doc holds the held edit right now.
      const replica = room.reviews.replica(userId, root) ?? room.reviews.seedReplica(userId, root, room.doc)
      return [root, storableRichText(snapshotRichText(replica.getXmlFragment(root)), room.maxRichTextDepth)]
    }),
  )
}

export interface HeldReviews {
  /** The items this update opened or merged into, to store with it. */
  readonly items: readonly ReviewItem[]
  /** The item that holds each held path. */
  readonly itemOf: ReadonlyMap<string, string>
}

/** The review items the held changes of this update go to: merged into the proposer's pending ones, or one new item. */
export const heldReviewItems = (
  room: Room,
  peer: Peer,
  captured: CapturedChanges,
  violations: readonly Violation[],
  eventSeq: number,
  textProposals: ReadonlyMap<string, NodeSnapshot[] | null>,
): HeldReviews => {
  const held = violations.filter((violation) => violation.outcome === 'review')
  if (held.length === 0) return { items: [], itemOf: new Map() }
  const heldPaths = new Set(held.map((violation) => violation.path))
  // A rich-text change: the text as it is now (compensated) is the base, the proposed tree the value.
  // (Plain-text roots have no key either, but no rule holds them for review: their values are strings.)
  const { richText } = rootNames(room.document.type)
  const proposal = (change: FieldChange): ReviewChange => ({
    path: change.path,
    root: change.root,
    key: change.key,
    ...(richText.includes(change.root)
      ? { baseValue: richTextContent(room.doc.getXmlFragment(change.root)), proposedValue: textProposals.get(change.root) ?? null }
      : { baseValue: change.oldValue, proposedValue: change.newValue }),
  })
  const proposed = new Map<string, ReviewChange>()
  for (const change of captured.changes) {
    if (!heldPaths.has(change.path)) continue
    const next = proposal(change)
    const earlier = proposed.get(change.path)
    proposed.set(change.path, earlier ? { ...earlier, proposedValue: next.proposedValue } : next)
  }

  const now = Date.now()
  const userId = peer.identity.userId
  const merged = new Map<string, ReviewItem>()
  const fresh: ReviewChange[] = []
  const itemOf = new Map<string, string>()
  for (const change of proposed.values()) {
    const pending = room.reviews.of(userId, change.path)
    if (!pending) {
      fresh.push(change)
      continue
    }
    const current = merged.get(pending.id) ?? pending
    const changes = current.changes.map((each) => (each.path === change.path ? { ...each, proposedValue: change.proposedValue } : each))
    merged.set(pending.id, { ...current, proposedAt: now, updatedAt: now, changes })
    itemOf.set(change.path, pending.id)
  }
  const items = [...merged.values()]
  if (fresh.length > 0) {
    const id = `r-${randomUUID()}`
    items.push({
      id,
      tenant: room.tenant,
      document: room.document.name,
      ruleId: held.find((violation) => violation.path === fresh[0]!.path)?.ruleId ?? held[0]!.ruleId,
      proposer: { userId, name: peer.identity.name, role: peer.identity.role, device: peer.identity.device },
      proposedAt: now,
      updatedAt: now,
      changes: fresh,
      status: 'pending',
      eventSeq,
    })
    for (const change of fresh) itemOf.set(change.path, id)
  }
  for (const item of items) room.reviews.record(item)
  return { items, itemOf }
}

/** The `review` notices each connection was sent, by item and path: told once per item, not per keystroke. */
const told = new WeakMap<Peer, Set<string>>()

/** Sends the `review` notice of a held path, unless this connection was already told about it for that item. */
export const tellHeldOnce = (peer: Peer, notice: Notice, reviewId: string | undefined): void => {
  if (reviewId === undefined) return
  const key = `${reviewId}\u0000${notice.path}`
  const seen = told.get(peer) ?? new Set<string>()
  if (seen.has(key)) return
  seen.add(key)
  told.set(peer, seen)
  peer.sendExtension(encodeNotice({ ...notice, reviewId }))
}
