import { decodeOwner, ownerRange, type OwnerClaim } from '../gate/clientOwnership.ts'
import { conflictRange } from '../gate/conflicts.ts'
import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import { reviewKey, reviewRange, type ReviewItem } from '../reviews/reviewItem.ts'
import { pendingReviewRange } from '../reviews/reviewStorage.ts'
import { getOptional, type LevelBatchDb } from './levelBatchDb.ts'

/**
 * Reading the records that come with documents besides their content and event log: client-id
 * owners, conflicts and review items (written with the document's updates, writeRecord.ts). Each
 * function is one read inside one store operation.
 */

/** The owners of a document's Yjs client ids (clientOwnership.ts). */
export const readClientOwners = async (db: LevelBatchDb, storageName: string): Promise<OwnerClaim[]> =>
  (await db.iterator(ownerRange(storageName)).all()).map(([key, value]) => decodeOwner(key, value))

/** The conflicts recorded for a document, oldest first (records from before ids and dismissal were kept get them from their key). */
export const readConflicts = async (db: LevelBatchDb, storageName: string): Promise<ConflictRecord[]> => {
  const entries = await db.iterator(conflictRange(storageName)).all()
  return entries.map(([key, value]) => {
    const [eventSeq, index] = [Number(key[2]), Number(key[3])]
    const stored = JSON.parse(Buffer.from(value).toString('utf8')) as Partial<ConflictRecord>
    return { id: `${eventSeq}-${index}`, rule: 'last-writer-wins', dismissed: null, ...stored, eventSeq } as ConflictRecord
  })
}

const decodeReview = (value: Uint8Array): ReviewItem => JSON.parse(Buffer.from(value).toString('utf8')) as ReviewItem

export const readReview = async (db: LevelBatchDb, tenant: string, id: string): Promise<ReviewItem | null> => {
  const value = await getOptional(db, reviewKey(tenant, id))
  return value ? decodeReview(value) : null
}

export const readReviews = async (db: LevelBatchDb, tenant: string): Promise<ReviewItem[]> => (await db.values(reviewRange(tenant)).all()).map(decodeReview)

/** The pending review items of a document, through the document's index of pending ids. */
export const readPendingReviews = async (db: LevelBatchDb, tenant: string, document: string): Promise<ReviewItem[]> => {
  const ids = await db.values(pendingReviewRange(tenant, document)).all()
  if (ids.length === 0) return []
  const values = await db.getMany(ids.map((id) => reviewKey(tenant, Buffer.from(id).toString('utf8'))))
  return values.flatMap((value) => (value ? [decodeReview(value)] : [])).filter((item) => item.status === 'pending')
}
