import type { DocumentStore } from '../persistence/documentStore.ts'
import type { LogOp } from '../persistence/writeAheadLog.ts'
import { pendingReviewKey } from './reviewStorage.ts'
import type { ReviewItem } from './reviewItem.ts'

/** Present once every pending item of the store is in the per-document index (reviewStorage.ts). */
export const PENDING_INDEX_MARKER = ['posalpro_meta', 'pending-reviews-indexed', 1]

/**
 * A store written before rooms loaded their pending items from a per-document index holds pending
 * items the index lacks: indexed once, at startup, before any room loads (one scan of every review
 * item, then never again). Returns how many were indexed.
 */
export const indexPendingReviews = async (store: DocumentStore): Promise<number> => {
  const marker = await store.readRange('pending reviews marker', { gt: PENDING_INDEX_MARKER.slice(0, 2), lt: [...PENDING_INDEX_MARKER.slice(0, 2), 0xffffffff] })
  if (marker.length > 0) return 0
  const entries = await store.readRange('reviews (indexing pending ones)', { gt: ['posalpro_reviews'], lt: ['posalpro_reviews', 0xffffffff] })
  const ops: LogOp[] = []
  for (const [, value] of entries) {
    const item = JSON.parse(Buffer.from(value).toString('utf8')) as ReviewItem
    if (item.status === 'pending') ops.push({ type: 'put', key: pendingReviewKey(item.tenant, item.document, item.id), value: Buffer.from(item.id) })
  }
  ops.push({ type: 'put', key: PENDING_INDEX_MARKER, value: Buffer.from('1') })
  await store.writeDirect('pending reviews index', ops)
  return ops.length - 1
}
