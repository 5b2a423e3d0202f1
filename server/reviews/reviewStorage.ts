import { notificationId, notificationOp, type Notification } from '../notifications/notification.ts'
import type { LogOp } from '../persistence/writeAheadLog.ts'
import { reviewKey, type ReviewItem } from './reviewItem.ts'

/**
 * What storing a review item writes, in one atomic batch with whatever it rides in: the item; its
 * entry in the document's index of pending items (a room loads only those, not the tenant's whole
 * history); and once decided, the proposer's lasting notification. The notification is part of
 * storing the decision, so no path that decides (a room, the CLI offline) can decide without it.
 */
export const reviewOps = (item: ReviewItem): LogOp[] => {
  const ops: LogOp[] = [
    { type: 'put', key: reviewKey(item.tenant, item.id), value: Buffer.from(JSON.stringify(item)) },
    item.status === 'pending'
      ? { type: 'put', key: pendingReviewKey(item.tenant, item.document, item.id), value: Buffer.from(item.id) }
      : { type: 'del', key: pendingReviewKey(item.tenant, item.document, item.id) },
  ]
  const notification = decisionNotification(item)
  if (notification) ops.push(notificationOp(notification))
  return ops
}

/** The proposer's lasting notification of a decided item (null while pending): every store writes it with the decision. */
export const decisionNotification = (item: ReviewItem): Notification | null => {
  if (item.status === 'pending') return null
  const at = item.decidedAt ?? Date.now()
  return {
    // Derived from the item: storing the same decision twice writes one notification.
    id: notificationId(at, item.id),
    tenant: item.tenant,
    userId: item.proposer.userId,
    kind: 'review-decided',
    at,
    read: false,
    document: item.document,
    detail: {
      reviewId: item.id,
      ruleId: item.ruleId,
      paths: item.changes.map((change) => change.path),
      outcome: item.status,
      ...(item.reason ? { reason: item.reason } : {}),
      ...(item.decidedBy ? { decidedBy: item.decidedBy } : {}),
    },
  }
}

export const pendingReviewKey = (tenant: string, document: string, id: string) => ['posalpro_pending_reviews', tenant, document, id]
export const pendingReviewRange = (tenant: string, document: string) => ({
  gt: ['posalpro_pending_reviews', tenant, document],
  lt: ['posalpro_pending_reviews', tenant, document, 0xffffffff],
})
