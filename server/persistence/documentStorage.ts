import type * as Y from 'yjs'
import type { EventBase, EventRecord } from './eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import type { ConflictRecord as Conflict } from '../../shared/conflictRecord.ts'
import type { OwnerClaim } from '../gate/clientOwnership.ts'
import type { Notification } from '../notifications/notification.ts'

/** What one group commit stores for one document, all of it or nothing. */
export interface DocumentBatch {
  /** The batch's updates merged into one, or null (events, reviews or owners only). */
  readonly update: Uint8Array | null
  /**
   * The document's state vector once `update` is stored (what the writer's doc holds), kept with
   * it so a cold load need not decode the updates. Without it the stored one goes stale.
   */
  readonly stateVector?: Uint8Array
  readonly events?: readonly EventRecord[]
  /** Review items; a decided one also stores the proposer's lasting notification, in the same batch. */
  readonly reviews?: readonly ReviewItem[]
  readonly conflicts?: readonly Conflict[]
  /** Client ids first written by this batch: their owners, stored with the structs. */
  readonly owners?: readonly OwnerClaim[]
}

/** The document as its holder has it: exactly what is stored (no write of it queued). */
export interface DocumentState {
  readonly update: Uint8Array
  readonly stateVector: Uint8Array
}

/**
 * The server's durable store, whatever it is kept in: LevelDB in a data directory
 * (`documentStore.ts`) or PostgreSQL (`postgres/postgresStorage.ts`). Everything the rooms, the
 * admin operations, reviews, notifications and the CLI call goes through this; one contract suite
 * (`storeContract.test.ts`) runs against every implementation.
 *
 * Documents are named by storage name, `<tenant>/<type>/<id>`. Every failure is a CollabError:
 * ERR_PERSISTENCE_FAILED when the store cannot be read or written, ERR_STALE_EPOCH when another
 * writer has taken the document over (PostgreSQL).
 */
export interface DocumentStorage {
  /** For logs: where the documents are (a directory, or a database without its password). */
  readonly location: string

  /**
   * Called by a room before it loads its document: from then on this store writes the document on
   * the room's behalf. LevelDB has one writer (its lock) and does nothing; PostgreSQL takes the
   * document's next epoch, so that a second server pointed at the same database by mistake fences
   * the first one out (its writes are refused with ERR_STALE_EPOCH) instead of interleaving.
   * `epoch` (cluster mode): the epoch of the document's lease this node has just taken, claimed
   * instead of the next one; ERR_STALE_EPOCH when a higher one has claimed or written it.
   */
  claim(storageName: string, epoch?: number): Promise<void>
  /** The room unloaded: what the store remembers about the document may be forgotten. */
  release(storageName: string): void

  /** All stored updates of a document, oldest first (unchecked: `docs verify` reads them as they are). */
  loadUpdates(storageName: string): Promise<Uint8Array[]>
  /**
   * What a cold load needs: the stored updates, oldest first, each checked like what comes off the
   * network (a damaged one fails with ERR_PERSISTENCE_FAILED), and the state vector when the stored
   * one is current, else null.
   */
  loadStored(storageName: string): Promise<{ updates: Uint8Array[]; stateVector: Uint8Array | null }>
  /** The stored document, built from its checked updates. */
  loadDoc(storageName: string): Promise<{ doc: Y.Doc; storedUpdates: number }>
  /**
   * The group commit's write: one atomic batch. Resolves once durable (only then may it be
   * acknowledged and broadcast); a failure stores nothing.
   */
  appendBatch(storageName: string, batch: DocumentBatch): Promise<void>
  /**
   * Merges a document's stored updates into one. `state`, when given, is the document exactly as
   * stored (a store may use it instead of reading the updates back). Resolves with the merged
   * size in bytes, or null when there was nothing to merge.
   */
  compact(storageName: string, state?: DocumentState): Promise<number | null>

  /**
   * Writes durable but not yet where the store keeps them for good (LevelDB behind its
   * write-ahead log), or in flight: what grows when the store falls behind.
   */
  readonly backlog: { readonly writes: number; readonly bytes: number }
  /** Writers should stop reading from their sockets until `whenBacklogDrains` calls back. */
  readonly backlogFull: boolean
  /** Calls `listener` once the backlog has drained (after being full). Returns a function that cancels it. */
  whenBacklogDrains(listener: () => void): () => void
  /** False while the store cannot be reached: the server is not ready (`/readyz`). */
  readonly healthy: boolean

  /** Event-log records with `fromSeq <= seq <= toSeq`, oldest first (newest first with reverse). */
  readEvents(storageName: string, range?: { fromSeq?: number; toSeq?: number; limit?: number; reverse?: boolean }): Promise<EventRecord[]>
  /** The retention base of a document's event log, or null when nothing was pruned yet. */
  eventBase(storageName: string): Promise<EventBase | null>
  /** The highest event sequence number of a document (0 when none); numbering continues after a pruned base. */
  lastEventSeq(storageName: string): Promise<number>
  /** Retention: folds the events recorded before `cutoff` (ms epoch) into the base. Returns how many. */
  pruneEvents(storageName: string, cutoff: number): Promise<number>

  /** The owners of a document's Yjs client ids. */
  clientOwners(storageName: string): Promise<OwnerClaim[]>
  /** The conflicts recorded for a document, oldest first. */
  listConflicts(storageName: string): Promise<Conflict[]>

  getReview(tenant: string, id: string): Promise<ReviewItem | null>
  /** Every review item of a tenant, in id order. */
  listReviews(tenant: string): Promise<ReviewItem[]>
  /** The pending review items of one document (`document`: `<type>/<id>`). */
  pendingReviews(tenant: string, document: string): Promise<ReviewItem[]>

  /** A user's lasting notifications, newest first. */
  notifications(tenant: string, userId: string): Promise<Notification[]>
  /** Stores (replaces by id) and deletes notifications of one user, atomically. */
  writeNotifications(tenant: string, userId: string, change: { put: readonly Notification[]; drop: readonly string[] }): Promise<void>

  /** The storage names of every stored document (one with at least one stored update). */
  documentNames(): Promise<string[]>

  /** Waits for pending writes, then closes. */
  close(): Promise<void>
}
