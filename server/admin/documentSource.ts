import type * as Y from 'yjs'
import type { DocumentName } from '../../shared/documentName.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import type { PendingReviews } from '../reviews/pendingReviews.ts'

/** Who an admin change is recorded as: the token's user online, `posalpro-admin:<user>` offline. */
export interface AdminActor {
  readonly tenant: string
  readonly userId: string
  readonly device: string | null
}

/** A live connection, as the admin sees it. */
export interface LiveClient {
  readonly user: string
  readonly role: string
  readonly device: string | null
  readonly tenant: string
  readonly document: string
  readonly since: number
  readonly bytesIn: number
  readonly bytesOut: number
}

/** What a server change writes with its update: the records that describe it, in the same atomic batch. */
export type ChangeRecords = { events: EventRecord[]; reviews: ReviewItem[] }

/**
 * Where the admin operations find documents: the running server's rooms (`liveDocuments`) or a
 * stopped server's data directory (`storedDocuments`). The operations are written once against
 * this; only how a document is read and changed differs.
 */
export interface DocumentSource {
  readonly store: DocumentStorage
  /** Runs `read` on the document's current state; the doc is only valid during the call. */
  read<T>(tenant: string, document: DocumentName, read: (doc: Y.Doc) => T): Promise<T>
  /**
   * A change by the server itself: `edit` changes the doc in one transaction (throwing leaves it
   * unchanged); online it also gets the room's pending review items, in the same order, then the update it made, with the records `describe` returns for it, is stored as
   * one atomic batch. `nextSeq` hands out the document's next event number (call it once per event
   * recorded: the log stays gap-free). Resolves once durable.
   */
  change<T>(
    tenant: string,
    document: DocumentName,
    edit: (doc: Y.Doc, pendingReviews?: PendingReviews) => T,
    describe: (written: { update: Uint8Array; nextSeq: () => number }, result: T) => ChangeRecords,
  ): Promise<T>
  /** Merges the document's stored updates into one (online: through its room, which holds the document). */
  compact(tenant: string, document: DocumentName): Promise<void>
  /** Open connections to a document (none offline). */
  connections(tenant: string, name: string): number
  /** Live connections of a tenant (none offline). */
  clients(tenant: string): LiveClient[]
  /** Sends an extension message to the connections of `userId` on a document (nobody to tell offline). */
  tell(tenant: string, name: string, userId: string, message: Uint8Array): void
}
