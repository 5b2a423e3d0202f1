import { isDeepStrictEqual } from 'node:util'
import { restoreRichTextTo, richTextContent, type NodeSnapshot } from '../gate/richTextRestore.ts'
import type * as Y from 'yjs'
import { parseDocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { encodeNotice } from '../../shared/extensionProtocol.ts'
import type { AdminActor, DocumentSource } from '../admin/documentSource.ts'
import type { ReviewItem } from './reviewItem.ts'
import { NotificationStore } from '../notifications/notificationStore.ts'

/**
 * A proposal is stale when any of its fields no longer holds the value it was proposed against.
 * Rich-text proposals cannot be re-applied from a value; they count as stale (decide them by hand).
 */
const proposalIsStale = (doc: Y.Doc, item: ReviewItem): boolean =>
  item.changes.some((change) =>
    change.key === null
      ? change.proposedValue == null || richTextContent(doc.getXmlFragment(change.root)) !== change.baseValue
      : !isDeepStrictEqual(doc.getMap(change.root).get(change.key), change.baseValue),
  )

/** Sets the proposed values (deletes where the proposal deleted); a rich-text root becomes the proposed text. */
const applyProposal = (doc: Y.Doc, item: ReviewItem): void => {
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

/** A rejection's reason is stored with the item and sent to the proposer: a sentence, not a file. */
const MAX_REASON_LENGTH = 500

/**
 * An admin decides a review item. Approving re-applies the proposed values as the server's own
 * audited change, in the document's order, unless a field moved since the proposal (then the item
 * is `stale` and nothing changes). The decided item is stored in the same write as the change, with
 * the proposer's lasting notification (reviewStorage.ts), and the proposer, when connected, is told. The same online (through the document's room) and offline
 * (on the stored document): `source` says which.
 */
export class ReviewDecisions {
  /** Items being decided right now: a second decision of the same item waits for none, it fails. */
  private readonly deciding = new Set<string>()

  private readonly notifications: NotificationStore

  constructor(private readonly source: DocumentSource) {
    this.notifications = new NotificationStore(source.store)
  }

  async decide(admin: AdminActor, id: string, decision: Decision): Promise<ReviewItem> {
    const stored = await this.source.store.getReview(admin.tenant, id)
    if (!stored) throw new CollabError(ErrorCode.ReviewNotFound, `no review item ${id} in tenant ${admin.tenant}`)
    if (stored.status !== 'pending' || this.deciding.has(id)) {
      throw new CollabError(ErrorCode.ReviewAlreadyDecided, `review item ${id} is already ${stored.status === 'pending' ? 'being decided' : stored.status}`)
    }
    this.deciding.add(id)
    try {
      const result = await this.decideInOrder(stored, admin, decision)
      this.tellProposer(result)
      await this.notifications.trim(result.tenant, result.proposer.userId)
      return result
    } finally {
      this.deciding.delete(id)
    }
  }

  /**
   * Decided in the document's order (a rejection too, though it changes nothing in the document):
   * the item is taken as the room holds it at that point, with every held edit merged into it
   * before the decision, and leaves the pending items in the same step, so a held edit after it
   * opens a new item. Approving what the proposer last proposed is the choice when an approval
   * races a merge: the proposal is one editing session, and a merge after the decision never
   * changes what was decided. Offline, nothing merges: the stored item is the item.
   */
  private decideInOrder(stored: ReviewItem, admin: AdminActor, decision: Decision): Promise<ReviewItem> {
    const decided = { decidedBy: admin.userId, decidedAt: Date.now() }
    return this.source.change(
      stored.tenant,
      parseDocumentName(stored.document),
      (doc, pending) => {
        const item = pending?.get(stored.id) ?? stored
        let result: ReviewItem
        if (decision.kind === 'reject') {
          result = { ...item, ...decided, status: 'rejected', reason: decision.reason.slice(0, MAX_REASON_LENGTH) }
        } else if (proposalIsStale(doc, item)) {
          // Checked in the document's order, just before the change: nothing moves in between.
          result = { ...item, ...decided, status: 'stale' }
        } else {
          applyProposal(doc, item)
          result = { ...item, ...decided, status: 'approved' }
        }
        pending?.record(result)
        return result
      },
      ({ update, nextSeq }, result) =>
        result.status !== 'approved'
          ? { events: [], reviews: [result] }
          : {
              events: [
                {
                  seq: nextSeq(),
                  at: Date.now(),
                  userId: admin.userId,
                  device: admin.device,
                  outcome: 'admin',
                  ruleIds: [result.ruleId],
                  paths: result.changes.map((change) => change.path),
                  update,
                  applied: true,
                  reviewId: result.id,
                },
              ],
              reviews: [result],
            },
    )
  }

  private tellProposer(item: ReviewItem): void {
    const notice = encodeNotice({
      outcome: 'review-decided',
      ruleId: item.ruleId,
      path: item.changes.map((change) => change.path).join(','),
      message: item.status === 'rejected' && item.reason ? `rejected: ${item.reason}` : item.status,
      reviewId: item.id,
    })
    this.source.tell(item.tenant, item.document, item.proposer.userId, notice)
  }
}
