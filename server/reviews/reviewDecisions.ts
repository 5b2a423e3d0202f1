import { isDeepStrictEqual } from 'node:util'
import { restoreRichTextTo, richTextContent, type NodeSnapshot } from '../gate/richTextRestore.ts'
import type * as Y from 'yjs'
import { parseDocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { encodeNotice } from '../../shared/extensionProtocol.ts'
import type { AdminActor, DocumentSource } from '../admin/documentSource.ts'
import type { ReviewItem } from './reviewItem.ts'

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
 * is `stale` and nothing changes). The decided item is stored in the same write as the change, and
 * the proposer, when connected, is told. The same online (through the document's room) and offline
 * (on the stored document): `source` says which.
 */
export class ReviewDecisions {
  /** Items being decided right now: a second decision of the same item waits for none, it fails. */
  private readonly deciding = new Set<string>()

  constructor(private readonly source: DocumentSource) {}

  async decide(admin: AdminActor, id: string, decision: Decision): Promise<ReviewItem> {
    const item = await this.source.store.getReview(admin.tenant, id)
    if (!item) throw new CollabError(ErrorCode.ReviewNotFound, `no review item ${id} in tenant ${admin.tenant}`)
    if (item.status !== 'pending' || this.deciding.has(id)) {
      throw new CollabError(ErrorCode.ReviewAlreadyDecided, `review item ${id} is already ${item.status === 'pending' ? 'being decided' : item.status}`)
    }
    this.deciding.add(id)
    try {
      const decided = { decidedBy: admin.userId, decidedAt: Date.now() }
      const result =
        decision.kind === 'reject'
          ? await this.reject({ ...item, ...decided, status: 'rejected', reason: decision.reason.slice(0, MAX_REASON_LENGTH) })
          : await this.approve(item, admin, decided)
      this.tellProposer(result)
      return result
    } finally {
      this.deciding.delete(id)
    }
  }

  private async reject(rejected: ReviewItem): Promise<ReviewItem> {
    await this.source.store.putReview(rejected)
    return rejected
  }

  private approve(item: ReviewItem, admin: AdminActor, decided: Pick<ReviewItem, 'decidedBy' | 'decidedAt'>): Promise<ReviewItem> {
    const approved: ReviewItem = { ...item, ...decided, status: 'approved' }
    const stale: ReviewItem = { ...item, ...decided, status: 'stale' }
    return this.source.change(
      item.tenant,
      parseDocumentName(item.document),
      (doc) => {
        // Checked in the document's order, just before the change: nothing moves in between.
        if (proposalIsStale(doc, item)) return stale
        applyProposal(doc, item)
        return approved
      },
      ({ update, nextSeq }, result) =>
        result === stale
          ? { events: [], reviews: [stale] }
          : {
              events: [
                {
                  seq: nextSeq(),
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
              reviews: [approved],
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
