import type * as Y from 'yjs'
import { CollabError, ErrorCode } from '../../../shared/errors.ts'
import type { Logger } from '../../observability/logger.ts'
import { buildDoc } from '../storedDoc.ts'
import type { DocumentBatch, DocumentStorage } from '../documentStorage.ts'
import type { EventBase, EventRecord } from '../eventLog.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import type { ConflictRecord as Conflict } from '../../../shared/conflictRecord.ts'
import type { OwnerClaim } from '../../gate/clientOwnership.ts'
import type { Notification } from '../../notifications/notification.ts'
import { PostgresDocumentStore, type PostgresStoreOptions } from './postgresDocumentStore.ts'
import type pg from 'pg'
import type { RowSealer } from './sealedRows.ts'
import type { ReencryptionCursor } from '../reencryption.ts'
import type { RecordLocation } from '../../crypto/recordCodec.ts'

export interface PostgresStorageOptions extends PostgresStoreOptions {
  readonly logger?: Logger
  /**
   * How often the database is asked whether it answers (`SELECT 1`), so `/readyz` turns not ready
   * while it cannot be reached even when nobody writes. A failed operation asks at once.
   */
  readonly healthProbeMs?: number
  /**
   * A write to a document no room claimed (the admin CLI) claims its next epoch first. Off in
   * cluster mode: there only the lease holder may raise a document's epoch, and such a write is
   * refused (ERR_DOCUMENT_MOVED) instead of fencing the owner out.
   */
  readonly claimOnWrite?: boolean
}

/**
 * The server on PostgreSQL, one node: the storage interface over the fenced PostgreSQL store.
 *
 * There is no write-ahead log: a batch is durable once its transaction has committed, and the
 * group commit makes one transaction per batch. Every write is fenced by an epoch the node takes
 * when a room loads the document (`claim`: the document's next epoch), so two servers pointed at
 * the same database by mistake cannot interleave their writes: the one that loaded the document
 * last writes it, the other's writes are refused with ERR_STALE_EPOCH (its room closes its peers
 * with the store-failure code, and they reconnect).
 */
export class PostgresStorage implements DocumentStorage {
  /** Per document, the epoch this node writes it with (claimed at room load, or at first use). */
  private readonly epochs = new Map<string, Promise<number>>()
  private inFlightWrites = 0
  private inFlightBytes = 0
  private answering = true
  private probing: Promise<void> | null = null
  private readonly probeTimer: NodeJS.Timeout

  private constructor(
    private readonly store: PostgresDocumentStore,
    readonly location: string,
    private readonly logger: Logger | null,
    healthProbeMs: number,
    private readonly claimOnWrite: boolean,
  ) {
    this.probeTimer = setInterval(() => void this.probe(), healthProbeMs)
    this.probeTimer.unref()
  }

  /** Connects and applies the migrations the database lacks; ERR_PERSISTENCE_FAILED when it cannot be reached. */
  static async open(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    const store = await PostgresDocumentStore.open(url, options)
    return new PostgresStorage(store, withoutPassword(url), options.logger ?? null, options.healthProbeMs ?? 2_000, options.claimOnWrite ?? true)
  }

  async claim(storageName: string, epoch?: number): Promise<void> {
    const claimed = epoch === undefined ? this.store.claimNext(storageName) : this.store.claim(storageName, epoch).then(() => epoch)
    this.epochs.set(storageName, claimed)
    try {
      await this.observe(claimed)
    } catch (error) {
      if (this.epochs.get(storageName) === claimed) this.epochs.delete(storageName)
      throw error
    }
  }

  release(storageName: string): void {
    this.epochs.delete(storageName)
    this.store.forget(storageName)
  }

  /** The epoch to write with: the room's claim, or (a write with no room: the admin CLI) a claim now. */
  private epochOf(storageName: string): Promise<number> {
    const known = this.epochs.get(storageName)
    if (known) return known
    if (!this.claimOnWrite) return Promise.reject(new CollabError(ErrorCode.DocumentMoved, `${storageName} is not loaded by this node, which may not write it`))
    const claimed = this.store.claimNext(storageName)
    this.epochs.set(storageName, claimed)
    claimed.catch(() => {
      if (this.epochs.get(storageName) === claimed) this.epochs.delete(storageName)
    })
    return claimed
  }

  loadUpdates(storageName: string): Promise<Uint8Array[]> {
    return this.observe(this.store.loadUpdates(storageName))
  }

  loadStored(storageName: string): Promise<{ updates: Uint8Array[]; stateVector: Uint8Array | null }> {
    return this.observe(this.store.loadStored(storageName))
  }

  async loadDoc(storageName: string): Promise<{ doc: Y.Doc; storedUpdates: number }> {
    const { updates } = await this.loadStored(storageName)
    return { doc: buildDoc(updates), storedUpdates: updates.length }
  }

  async appendBatch(storageName: string, batch: DocumentBatch): Promise<void> {
    const bytes = batch.update?.byteLength ?? 0
    this.inFlightWrites++
    this.inFlightBytes += bytes
    try {
      const epoch = await this.observe(this.epochOf(storageName))
      await this.observe(this.store.appendBatch(storageName, epoch, batch))
    } finally {
      this.inFlightWrites--
      this.inFlightBytes -= bytes
    }
  }

  /** Merged inside the database, in the fenced transaction (the caller's state is not needed). */
  async compact(storageName: string): Promise<number | null> {
    const epoch = await this.observe(this.epochOf(storageName))
    return this.observe(this.store.compact(storageName, epoch))
  }

  /**
   * Transactions in flight. Nothing waits behind a commit here (no log for a database to catch up
   * with), and each room has one batch in flight at a time: never full.
   */
  get backlog(): { readonly writes: number; readonly bytes: number } {
    return { writes: this.inFlightWrites, bytes: this.inFlightBytes }
  }

  get backlogFull(): boolean {
    return false
  }

  whenBacklogDrains(): () => void {
    return () => {}
  }

  get healthy(): boolean {
    return this.answering
  }

  readEvents(storageName: string, range?: { fromSeq?: number; toSeq?: number; limit?: number; reverse?: boolean }): Promise<EventRecord[]> {
    return this.observe(this.store.readEvents(storageName, range))
  }

  eventBase(storageName: string): Promise<EventBase | null> {
    return this.observe(this.store.eventBase(storageName))
  }

  lastEventSeq(storageName: string): Promise<number> {
    return this.observe(this.store.lastEventSeq(storageName))
  }

  async pruneEvents(storageName: string, cutoff: number): Promise<number> {
    const epoch = await this.observe(this.epochOf(storageName))
    return this.observe(this.store.pruneEvents(storageName, epoch, cutoff))
  }

  /** Tables of other modules (the access audit): a transaction whose rows are sealed like the store's. */
  sealedRows<T>(label: string, work: (client: pg.PoolClient, sealer: RowSealer) => Promise<T>): Promise<T> {
    return this.observe(this.store.sealedRows(label, work))
  }

  /** Key rotation and re-encryption (reencryption.ts), shared by every node on the database. */
  rotateDataKeys(tenant: string | null): Promise<Record<string, number>> {
    return this.observe(this.store.rotateDataKeys(tenant))
  }

  currentKeyIds(): Promise<Record<string, number>> {
    return this.observe(this.store.currentKeyIds())
  }

  dataKeyIds(tenant: string): Promise<number[]> {
    return this.observe(this.store.dataKeyIds(tenant))
  }

  countRecords(tenant?: string | null): Promise<number> {
    return this.observe(this.store.countRecords(tenant ?? null))
  }

  resealChunk(cursor: ReencryptionCursor, limit: number): Promise<{ last: RecordLocation | null; scanned: number; rewritten: number }> {
    return this.observe(this.store.resealChunk(cursor, limit))
  }

  retireKeysBelow(targets: Readonly<Record<string, number>>): Promise<void> {
    return this.observe(this.store.retireKeysBelow(targets))
  }

  loadReencryptionCursor(tenant?: string | null): Promise<ReencryptionCursor | null> {
    return this.observe(this.store.loadReencryptionCursor(tenant ?? null))
  }

  saveReencryptionCursor(cursor: ReencryptionCursor | null, tenant?: string | null): Promise<void> {
    return this.observe(this.store.saveReencryptionCursor(cursor, tenant ?? cursor?.tenant ?? null))
  }

  adoptMasterKeys(keys: readonly Buffer[]): Promise<void> {
    return this.observe(this.store.adoptMasterKeys(keys))
  }

  /** Offline master-key rotation (the CLI's `keys rotate --new-master-key-file`). */
  rewrapMasterKey(key: Buffer): Promise<void> {
    return this.observe(this.store.rewrapMasterKey(key))
  }

  masterKeyWrappedUnder(keys: readonly Buffer[]): Promise<string | null> {
    return this.observe(this.store.masterKeyWrappedUnder(keys))
  }

  clientOwners(storageName: string): Promise<OwnerClaim[]> {
    return this.observe(this.store.clientOwners(storageName))
  }

  listConflicts(storageName: string): Promise<Conflict[]> {
    return this.observe(this.store.listConflicts(storageName))
  }

  getReview(tenant: string, id: string): Promise<ReviewItem | null> {
    return this.observe(this.store.getReview(tenant, id))
  }

  listReviews(tenant: string): Promise<ReviewItem[]> {
    return this.observe(this.store.listReviews(tenant))
  }

  pendingReviews(tenant: string, document: string): Promise<ReviewItem[]> {
    return this.observe(this.store.pendingReviews(`${tenant}/${document}`))
  }

  notifications(tenant: string, userId: string): Promise<Notification[]> {
    return this.observe(this.store.notifications(tenant, userId))
  }

  writeNotifications(tenant: string, userId: string, change: { put: readonly Notification[]; drop: readonly string[] }): Promise<void> {
    return this.observe(this.store.writeNotifications(tenant, userId, change))
  }

  documentNames(): Promise<string[]> {
    return this.observe(this.store.allDocumentNames())
  }

  /** The fenced store underneath (epochs explicit): the migration command and tests. */
  get fenced(): PostgresDocumentStore {
    return this.store
  }

  /** Every write resolves once committed: nothing to wait for but the pool's in-flight queries. */
  async close(): Promise<void> {
    clearInterval(this.probeTimer)
    await this.probing
    await this.store.close()
  }

  /** A failed operation makes the readiness probe ask at once whether the database still answers. */
  private async observe<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation
    } catch (error) {
      void this.probe()
      throw error
    }
  }

  private probe(): Promise<void> {
    this.probing ??= this.store
      .ping()
      .then(
        () => {
          if (!this.answering) this.logger?.info('PostgreSQL answers again: ready')
          this.answering = true
        },
        (error: unknown) => {
          if (this.answering) this.logger?.error({ err: error }, 'PostgreSQL does not answer: not ready')
          this.answering = false
        },
      )
      .finally(() => {
        this.probing = null
      })
    return this.probing
  }
}

/** The URL as logs may show it. */
const withoutPassword = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgresql (unparsable URL)'
  }
}
