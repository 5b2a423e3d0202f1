import { isDeepStrictEqual } from 'node:util'
import { restoreRichTextTo, richTextContent, type NodeSnapshot } from '../gate/richTextRestore.ts'
import type * as Y from 'yjs'
import { parseDocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { encodeNotice } from '../../shared/extensionProtocol.ts'
import type { Identity } from '../auth/index.ts'
import type { DocumentStore } from '../persistence/documentStore.ts'
import type { Room } from '../room.ts'
import type { RoomRegistry } from '../roomRegistry.ts'
import type { ReviewItem } from './reviewItem.ts'

/**
 * A proposal is stale when any of its fields no longer holds the value it was proposed against.
 * Rich-text proposals cannot be re-applied from a value; they count as stale (decide them by hand).
 */
export const proposalIsStale = (doc: Y.Doc, item: ReviewItem): boolean =>
  item.changes.some((change) =>
    change.key === null
      ? change.proposedValue == null || richTextContent(doc.getXmlFragment(change.root)) !== change.baseValue
      : !isDeepStrictEqual(doc.getMap(change.root).get(change.key), change.baseValue),
  )

/** Sets the proposed values (deletes where the proposal deleted); a rich-text root becomes the proposed text. */
export const applyProposal = (doc: Y.Doc, item: ReviewItem): void => {
  for (const change of item.changes) {
    if (change.key === null) {
      restoreRichTextTo(doc.getXmlFragment(change.root), change.proposedValue as NodeSnapshot[])
      continue
    }
    const map = doc.getMap<unknown>(change.root)
    if (change.proposedValue === undefined) map.delete(change.key)
    else map.set(change.key, change.proposedValue)
  }
}

export type Decision = { kind: 'approve' } | { kind: 'reject'; reason: string }

/**
 * An admin decides a review item. Approving re-applies the proposed values as the server's own
 * audited change, in the document's order, unless a field moved since the proposal (then the item
 * is `stale` and nothing changes). The decided item is stored in the same write as the change, and
 * the proposer, when connected, is told.
 */
export class ReviewDecisions {
  /** Items being decided right now: a second decision of the same item waits for none, it fails. */
  private readonly deciding = new Set<string>()

  constructor(
    private readonly store: DocumentStore,
    private readonly rooms: RoomRegistry,
  ) {}

  async decide(admin: Identity, id: string, decision: Decision): Promise<ReviewItem> {
    const item = await this.store.getReview(admin.tenant, id)
    if (!item) throw new CollabError(ErrorCode.ReviewNotFound, `no review item ${id} in tenant ${admin.tenant}`)
    if (item.status !== 'pending' || this.deciding.has(id)) {
      throw new CollabError(ErrorCode.ReviewAlreadyDecided, `review item ${id} is already ${item.status === 'pending' ? 'being decided' : item.status}`)
    }
    this.deciding.add(id)
    try {
      const decided = { decidedBy: admin.userId, decidedAt: Date.now() }
      if (decision.kind === 'reject') {
        const rejected: ReviewItem = { ...item, ...decided, status: 'rejected', reason: decision.reason }
        await this.store.putReview(rejected)
        this.tellProposer(rejected)
        return rejected
      }
      const room = await this.rooms.open(item.tenant, parseDocumentName(item.document))
      try {
        return await this.approve(room, item, admin, decided)
      } finally {
        this.rooms.release(room)
      }
    } finally {
      this.deciding.delete(id)
    }
  }

  private async approve(room: Room, item: ReviewItem, admin: Identity, decided: Pick<ReviewItem, 'decidedBy' | 'decidedAt'>): Promise<ReviewItem> {
    const moved = proposalIsStale(room.doc, item)
    let result: ReviewItem
    if (moved) {
      result = { ...item, ...decided, status: 'stale' }
      await this.store.putReview(result)
    } else {
      result = { ...item, ...decided, status: 'approved' }
      await room.applyServerChange(
        (doc) => applyProposal(doc, item),
        (update) => ({
          events: [
            {
              seq: room.nextEventSeq(),
              at: Date.now(),
              userId: admin.userId,
              device: admin.device,
              outcome: 'admin',
              ruleIds: [item.ruleId],
              paths: item.changes.map((change) => change.path),
              update,
              applied: true,
              reviewId: item.id,
            },
          ],
          reviews: [result],
        }),
      )
    }
    this.tellProposer(result, room)
    return result
  }

  private tellProposer(item: ReviewItem, room = this.rooms.find(item.tenant, item.document)): void {
    if (!room) return
    const notice = encodeNotice({
      outcome: 'review-decided',
      ruleId: item.ruleId,
      path: item.changes.map((change) => change.path).join(','),
      message: item.status === 'rejected' && item.reason ? `rejected: ${item.reason}` : item.status,
      reviewId: item.id,
    })
    for (const peer of room.peers) if (peer.identity.userId === item.proposer.userId) peer.sendExtension(notice)
  }
}
