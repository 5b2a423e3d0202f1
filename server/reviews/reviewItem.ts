/**
 * A change held for review: the live document was compensated like a rejection, and the
 * proposed values wait here until an admin approves (the server re-applies them as its own
 * audited change, unless a field moved since: then the item is `stale`) or rejects them.
 */
export type ReviewStatus = 'pending' | 'approved' | 'rejected' | 'stale'

export interface ReviewChange {
  readonly path: string
  readonly root: string
  /** null for a rich-text root. */
  readonly key: string | null
  /**
   * The value the field had when the change was proposed (and still has after compensation); for
   * rich text, the text as it read then (`richTextContent`): approving needs it unchanged.
   */
  readonly baseValue: unknown
  /** The proposed value; for rich text, the proposed tree (richTextRestore's stored form), null when it could not be stored. */
  readonly proposedValue: unknown
}

export interface ReviewItem {
  readonly id: string
  readonly tenant: string
  /** `<type>/<id>`. */
  readonly document: string
  readonly ruleId: string
  readonly proposer: { readonly userId: string; readonly name?: string; readonly role: string; readonly device: string | null }
  /** When its latest held edit was proposed: it moves as held edits merge into the item (reviewSession.ts). */
  readonly proposedAt: number
  /** When the item last changed while pending (opened or merged into); absent on items stored before merging. */
  readonly updatedAt?: number
  readonly changes: readonly ReviewChange[]
  readonly status: ReviewStatus
  readonly decidedBy?: string
  readonly decidedAt?: number
  readonly reason?: string
  /** The event that recorded the proposal. */
  readonly eventSeq: number
}

/**
 * Keys in y-leveldb's key encoding (length-prefixed strings, then uint32s): a number element sorts
 * after every string element at the same position, which bounds a range without guessing ids.
 */
export const reviewKey = (tenant: string, id: string) => ['posalpro_reviews', tenant, id]
export const reviewRange = (tenant: string) => ({ gt: ['posalpro_reviews', tenant], lt: ['posalpro_reviews', tenant, 0xffffffff] })
