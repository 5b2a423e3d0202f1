import { join } from 'node:path'
import * as Y from 'yjs'
import { LeveldbPersistence, getCurrentUpdateClock } from 'y-leveldb'
import type { Logger } from '../observability/logger.ts'
import type { EventBase, EventRecord } from './eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { reviewOps } from '../reviews/reviewStorage.ts'
import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import type { OwnerClaim } from '../gate/clientOwnership.ts'
import { buildDoc, checkStoredUpdates } from './storedDoc.ts'
import { WriteAheadLog, walHoldsRecords, type LogOp } from './writeAheadLog.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { DocumentStorage } from './documentStorage.ts'
import { decodeNotification, notificationKey, notificationOp, notificationRange, type Notification } from '../notifications/notification.ts'
import { openRecordCodec, type AtRestOptions } from '../crypto/atRest.ts'
import type { RecordLocation } from '../crypto/recordCodec.ts'
import { KnownDocuments } from './knownDocuments.ts'
import type { KeyManagedStore, ReencryptionCursor } from './reencryption.ts'
import { readKeyringFile } from '../crypto/keyringFile.ts'
import { sealedLevelDb } from './sealedLevelDb.ts'
import type { LevelBatchDb } from './levelBatchDb.ts'
import { describeError } from './describeError.ts'
import { OperationChains } from './operationChains.ts'
import { WriteBacklog } from './writeBacklog.ts'
import { LevelDbQueue } from './levelDbQueue.ts'
import { replayLoggedWrites } from './walReplay.ts'
import { StoreSealing } from './storeSealing.ts'
import { loadReencryptionCursor, resealLevelDbChunk, saveReencryptionCursor } from './levelDbReencryption.ts'
import { pruneEventsIn, readEventBase, readEventsIn, readLastEventSeq } from './storedEvents.ts'
import { readClientOwners, readConflicts, readPendingReviews, readReview, readReviews } from './storedRecords.ts'
import { opBytes, writeRecordOf } from './writeRecord.ts'
import { planCompaction, readStoredUpdates } from './storedUpdates.ts'

/** Where they were defined before: code importing them from here keeps working. */
export { buildDoc, SERVER_DOC_OPTIONS } from './storedDoc.ts'
export type { LevelBatchDb, RangeOptions } from './levelBatchDb.ts'

/**
 * The server's durable store: the LevelDB in the data directory, in y-leveldb's key format (so
 * y-leveldb, and every tool built on it, reads what we write), with its failures made visible.
 *
 * y-leveldb runs every operation of every document through one global promise chain
 * (`_transact`), which also catches any error, logs it with console.warn and resolves with `null`:
 * one slow operation (a big document's compaction) stalls every other document's writes, and a
 * write that failed looks like one that succeeded. So the hot paths run here, directly on the
 * underlying level db: operations on one document are serialized on that document's own chain
 * (a write never interleaves with its compaction), documents do not wait for each other, and
 * every error is rethrown as ERR_PERSISTENCE_FAILED. y-leveldb's class is used for opening the
 * database and for listing documents only.
 *
 * Writes are durable once in the write-ahead log (`writeAheadLog.ts`), which LevelDB then catches
 * up with (`levelDbQueue.ts`, `writeBacklog.ts`); opening the store first replays what a crash
 * left in the log (`walReplay.ts`).
 *
 * The class is the façade the server codes against (DocumentStorage); each concept is its own
 * module: the chains (`operationChains.ts`), the key layout (`storageKeys.ts`), what one write
 * stores (`writeRecord.ts`), reads of updates, events and other records (`storedUpdates.ts`,
 * `storedEvents.ts`, `storedRecords.ts`), encryption at rest (`storeSealing.ts`,
 * `levelDbReencryption.ts`). The store itself keeps the update clock of each document.
 */
export interface DocumentStoreOptions {
  /** Where slow operations are reported (warn). */
  readonly logger?: Logger
  /**
   * An operation that takes longer than this (waiting for its turn included) is logged as a
   * warning: under overload, the first sign of a stalled store.
   */
  readonly slowOperationMs?: number
  /** Under load, at most one LevelDB batch per this many ms (see levelDbQueue.ts). Default 10. */
  readonly batchIntervalMs?: number
  /**
   * The backlog (writes logged but not yet in LevelDB, all documents) counts as full from this many
   * writes or bytes: rooms then stop reading from their sockets until it drains to half (see
   * `backlogFull`). Defaults: unbounded.
   */
  readonly maxBacklogWrites?: number
  readonly maxBacklogBytes?: number
  /**
   * Encryption at rest: with a master key every value written (LevelDB and the write-ahead log) is
   * sealed with its tenant's data key, and every value read is opened (sealedLevelDb.ts). Keys stay
   * readable: y-leveldb's format and document listing rely on them.
   */
  readonly atRest?: AtRestOptions
}

/** The write-ahead log's directory inside the data directory (LevelDB ignores files it did not make). */
export const WAL_DIRECTORY = 'wal'

export class DocumentStore implements DocumentStorage, KeyManagedStore {
  private readonly persistence: LeveldbPersistence
  private db: LevelBatchDb | null = null
  /** What every read and write but the logged ones goes through: `db`, sealing and opening values when encrypted. */
  private sealed: LevelBatchDb | null = null
  /** Encryption at rest: seals and opens values (codec null when it is off), keeps the keyring saved. */
  private readonly sealing: StoreSealing
  private wal: WriteAheadLog | null = null
  /** Every operation, in its document's order. */
  private readonly chains: OperationChains
  /** How logged writes reach LevelDB. */
  private readonly levelDbQueue: LevelDbQueue
  /**
   * The highest update clock of each document the store has read or written since it loaded
   * (-1: none), so an append needs no read first. Dropped with `release` when a room unloads.
   */
  private readonly clocks = new Map<string, number>()
  private readonly logger: Logger | null
  private readonly slowOperationMs: number
  /** Writes logged and not yet in LevelDB: what rooms pause their readers for. */
  private readonly writeBacklog: WriteBacklog
  /** The documents the store holds any record of: joining any other one reads nothing. */
  private known!: KnownDocuments

  private constructor(
    readonly location: string,
    options: DocumentStoreOptions,
  ) {
    this.persistence = new LeveldbPersistence(location)
    this.sealing = new StoreSealing(location, null)
    this.logger = options.logger ?? null
    this.slowOperationMs = options.slowOperationMs ?? 1000
    this.writeBacklog = new WriteBacklog(options.maxBacklogWrites ?? Infinity, options.maxBacklogBytes ?? Infinity)
    this.chains = new OperationChains({ database: () => this.database(), logger: this.logger, slowOperationMs: this.slowOperationMs })
    this.levelDbQueue = new LevelDbQueue({
      chains: this.chains,
      database: () => this.db,
      batchIntervalMs: options.batchIntervalMs ?? 10,
      onRefused: (storageName, error) => {
        this.clocks.delete(storageName)
        this.wal?.fail((error as Error).message)
        this.logger?.error({ err: error, document: storageName }, 'LevelDB refused a logged write; no further writes until restart')
        // The backlog will not drain now: paused rooms read again, so their next write fails visibly (4500).
        this.writeBacklog.notifyDrained()
      },
    })
  }

  /** Opens (and locks) the LevelDB in `location`; fails clearly when another process holds it. */
  static async open(location: string, options: DocumentStoreOptions = {}): Promise<DocumentStore> {
    // The key is checked against the keyring before LevelDB is opened (y-leveldb opens it as soon
    // as it is constructed): a refused start changes no file.
    const storedKeyring = readKeyringFile(location)
    const codec = storedKeyring || !options.atRest?.masterKey ? await openRecordCodec(options.atRest, storedKeyring, location, async () => false) : null
    const store = new DocumentStore(location, options)
    store.sealing.codec = codec
    try {
      store.db = await store.runGlobal('open', async (db: LevelBatchDb & { open(): Promise<void> }) => {
        await db.open()
        return db
      })
    } catch (error) {
      if (/lock/i.test((error as Error).message)) {
        throw new CollabError(ErrorCode.DataDirLocked, `data directory ${location} is locked: another server is using it`)
      }
      throw error
    }
    if (!storedKeyring && options.atRest?.masterKey) {
      try {
        store.sealing.codec = await openRecordCodec(options.atRest, null, location, () => store.holdsAnything())
      } catch (error) {
        await store.runGlobal('close', (db: { close(): Promise<void> }) => db.close())
        throw error
      }
    }
    // The canary (and keyring) of a store's first encrypted start is saved before anything else.
    store.sealing.saveKeyring()
    const { codec: sealingCodec } = store.sealing
    store.sealed = sealingCodec ? sealedLevelDb(store.db!, sealingCodec, (ops) => store.sealing.beforeSealedWrite(ops)) : store.db
    // Only the process holding LevelDB's lock reaches this point, so the log has one writer.
    let opened: ReturnType<typeof WriteAheadLog.open>
    try {
      opened = WriteAheadLog.open(join(location, WAL_DIRECTORY))
    } catch (error) {
      await store.runGlobal('close', (db: { close(): Promise<void> }) => db.close())
      throw new CollabError(ErrorCode.PersistenceFailed, `cannot open the write-ahead log in ${join(location, WAL_DIRECTORY)}: ${describeError(error)}`)
    }
    const { log, leftOver, discardLeftOver, damagedBytes } = opened
    if (damagedBytes > 0) store.logger?.warn({ bytes: damagedBytes }, 'write-ahead log ends in a record cut short by a crash; it was never acknowledged')
    await replayLoggedWrites(leftOver, { raw: store.db!, sealed: store.database(), logger: store.logger })
    discardLeftOver()
    store.wal = log
    store.known = await KnownDocuments.load(store.database(), (documents) =>
      store.logger?.info({ documents }, 'indexed which documents the store holds (once, for a store written without the index)'),
    )
    return store
  }

  /** All stored updates of a document, oldest first. */
  async loadUpdates(storageName: string): Promise<Uint8Array[]> {
    return (await this.readStored(storageName, false)).updates
  }

  /**
   * What a cold load needs: the stored updates, oldest first, each checked like what comes off the
   * network (a damaged record fails the load with ERR_PERSISTENCE_FAILED instead of making Yjs
   * allocate from a garbage header), and the document's state vector when the stored entry is
   * current (its clock is the last update's, as y-leveldb defines it), so answering a peer needs
   * no decode of the updates. null when it is stale (written by something that did not keep it).
   */
  async loadStored(storageName: string): Promise<{ updates: Uint8Array[]; stateVector: Uint8Array | null }> {
    const stored = await this.readStored(storageName, true)
    checkStoredUpdates(storageName, stored.updates)
    return stored
  }

  /** All stored updates of a document, each checked (see loadStored). */
  async loadCheckedUpdates(storageName: string): Promise<Uint8Array[]> {
    const updates = await this.loadUpdates(storageName)
    checkStoredUpdates(storageName, updates)
    return updates
  }

  /** The updates and (if asked) the current state vector, read in one operation so they agree (storedUpdates.ts). */
  private readStored(storageName: string, withStateVector: boolean): Promise<{ updates: Uint8Array[]; stateVector: Uint8Array | null }> {
    return this.chains.runFor(storageName, `load ${storageName}`, async (db) => {
      const { updates, stateVector, lastClock } = this.known.has(storageName) ? await readStoredUpdates(db, storageName, withStateVector) : { updates: [], stateVector: null, lastClock: -1 }
      // Only when unknown: a known clock may be ahead of LevelDB (logged writes still on their way).
      if (!this.clocks.has(storageName)) this.clocks.set(storageName, lastClock)
      return { updates, stateVector }
    })
  }

  /** Builds the stored document. Throws ERR_PERSISTENCE_FAILED when LevelDB cannot be read. */
  async loadDoc(storageName: string): Promise<{ doc: Y.Doc; storedUpdates: number }> {
    const updates = await this.loadCheckedUpdates(storageName)
    return { doc: buildDoc(updates), storedUpdates: updates.length }
  }

  /**
   * Backups (server/backup/storeSnapshot.ts): every LevelDB record as raw bytes, as of this call.
   * LevelDB takes the iterator's snapshot synchronously, so a caller that copies the write-ahead
   * log in the same turn of the event loop has both as of one moment; no write waits for it.
   */
  openRawSnapshot(): { nextv(size: number): Promise<Array<[Buffer, Buffer]>>; close(): Promise<void> } {
    if (!this.db || !this.wal) throw new CollabError(ErrorCode.PersistenceFailed, 'the store is closed')
    type RawIterating = { iterator(options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): ReturnType<DocumentStore['openRawSnapshot']> }
    return (this.db as unknown as RawIterating).iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' })
  }

  /** Forgets what the store remembers about a document (its room unloaded); it is read again when needed. */
  release(storageName: string): void {
    if (!this.chains.has(storageName)) this.clocks.delete(storageName)
  }

  /** The storage names of every stored document (y-leveldb keeps a state vector per document). */
  async documentNames(): Promise<string[]> {
    // After every write logged so far has reached LevelDB: a document is listed once durable.
    await this.chains.settled()
    const names = await this.persistence.getAllDocNames()
    if (!Array.isArray(names)) throw new CollabError(ErrorCode.PersistenceFailed, 'listing documents failed')
    return names
  }

  /**
   * One atomic write: the document update (if any), its event-log records and review items, as one
   * LevelDB batch. Either all of it is stored or none of it: the event log and the document never
   * disagree, and a compensation is never stored without the update it corrects.
   *
   * Resolves once the write is durable: appended to the write-ahead log, which for a document whose
   * update clock is known (every loaded one) happens before this returns. LevelDB receives the
   * batch next, on the document's chain, so every later operation on the document (a read, a
   * compaction) sees it.
   */
  async appendBatch(
    storageName: string,
    batch: {
      update: Uint8Array | null
      /**
       * The document's state vector once `update` is stored (what the writer's doc holds). Stored
       * with the update's clock, so the entry stays current and a cold load needs no decode.
       * Without it the entry goes stale (y-leveldb's own appends do the same) and a load computes it.
       */
      stateVector?: Uint8Array
      events?: readonly EventRecord[]
      reviews?: readonly ReviewItem[]
      /** New conflict records, or stored ones changed (dismissed): put under their id. */
      conflicts?: readonly ConflictRecord[]
      /** Client ids first written by this batch: their owners, stored with the structs. */
      owners?: readonly OwnerClaim[]
    },
  ): Promise<void> {
    if (batch.update && !this.clocks.has(storageName)) {
      await this.chains.runFor(storageName, `clock ${storageName}`, async (db) => {
        if (this.clocks.has(storageName)) return
        this.clocks.set(storageName, this.known.has(storageName) ? ((await getCurrentUpdateClock(this.db, storageName)) as number) : -1)
      })
    }
    const written = writeRecordOf(storageName, this.clocks.get(storageName), batch)
    this.known.noteWrites(written.ops)
    const marker = written.ops.length > 0 ? this.known.markerFor(storageName) : []
    const record = this.sealing.sealRecord(marker.length > 0 ? { ...written, ops: [...written.ops, ...marker] } : written)
    if (record.ops.length === 0) return
    const applied = this.log().append(record)
    if (record.updateClock !== null) this.clocks.set(storageName, record.updateClock)
    const bytes = opBytes(record.ops)
    this.writeBacklog.added(bytes)
    this.levelDbQueue.queue(storageName, record.ops, () => {
      applied()
      this.writeBacklog.left(bytes)
    })
  }

  /** Writes logged and not yet in LevelDB (all documents), and their bytes. */
  get backlog(): { readonly writes: number; readonly bytes: number } {
    return this.writeBacklog.counts
  }

  /** Has the backlog reached maxBacklogWrites or maxBacklogBytes? Writers should wait (`whenBacklogDrains`). */
  get backlogFull(): boolean {
    return this.writeBacklog.full
  }

  /**
   * Calls `listener` once the backlog has drained to half its limits (hysteresis: a room that
   * resumes at once would pause again at the next write). Returns a function that cancels it.
   */
  whenBacklogDrains(listener: () => void): () => void {
    return this.writeBacklog.whenDrains(listener)
  }

  /** Does the LevelDB (or a write-ahead log segment) hold anything: a store that was used without encryption? */
  private async holdsAnything(): Promise<boolean> {
    const [first] = await this.db!.keys({ limit: 1 }).all()
    return first !== undefined || walHoldsRecords(join(this.location, WAL_DIRECTORY))
  }

  /** Event-log records of a document with `fromSeq <= seq <= toSeq`, oldest first (or newest first with reverse). */
  readEvents(storageName: string, range: { fromSeq?: number; toSeq?: number; limit?: number; reverse?: boolean } = {}): Promise<EventRecord[]> {
    return this.chains.runFor(storageName, `events ${storageName}`, (db) => readEventsIn(db, storageName, range))
  }

  /** The retention base of a document's event log, or null when nothing was pruned yet. */
  async eventBase(storageName: string): Promise<EventBase | null> {
    return this.chains.runFor(storageName, `events ${storageName}`, (db) => readEventBase(db, storageName))
  }

  /**
   * Retention: folds every event recorded before `cutoff` (ms epoch) into the base and deletes it,
   * in one atomic batch. The log still rebuilds the document; time travel reaches the base.
   * Returns how many events were pruned.
   */
  async pruneEvents(storageName: string, cutoff: number): Promise<number> {
    return this.chains.runFor(storageName, `prune ${storageName}`, (db) => pruneEventsIn(db, storageName, cutoff))
  }

  /** The highest event sequence number of a document (0 when it has none). */
  lastEventSeq(storageName: string): Promise<number> {
    return this.chains.runFor(storageName, `events ${storageName}`, (db) => (this.known.has(storageName) ? readLastEventSeq(db, storageName) : Promise.resolve(0)))
  }

  /** The owners of a document's Yjs client ids (clientOwnership.ts). */
  clientOwners(storageName: string): Promise<OwnerClaim[]> {
    return this.chains.runFor(storageName, `owners ${storageName}`, (db) => (this.known.has(storageName) ? readClientOwners(db, storageName) : Promise.resolve([])))
  }

  /** The conflicts recorded for a document, oldest first (records from before ids and dismissal were kept get them from their key). */
  async listConflicts(storageName: string): Promise<ConflictRecord[]> {
    return this.chains.runFor(storageName, `conflicts ${storageName}`, (db) => readConflicts(db, storageName))
  }

  async getReview(tenant: string, id: string): Promise<ReviewItem | null> {
    return this.chains.runDirect(`review ${id}`, (db) => readReview(db, tenant, id))
  }

  async listReviews(tenant: string): Promise<ReviewItem[]> {
    return this.chains.runDirect(`reviews ${tenant}`, (db) => readReviews(db, tenant))
  }

  async putReview(review: ReviewItem): Promise<void> {
    const ops = reviewOps(review)
    this.known.noteWrites(ops)
    await this.chains.runDirect(`review ${review.id}`, (db) => db.batch(ops))
  }

  /** The pending review items of a document (its room holds them: reviews/pendingReviews.ts). */
  pendingReviews(tenant: string, document: string): Promise<ReviewItem[]> {
    return this.chains.runFor(`${tenant}/${document}`, `pending reviews ${tenant}/${document}`, (db) =>
      this.known.mayHavePendingReviews(`${tenant}/${document}`) ? readPendingReviews(db, tenant, document) : Promise.resolve([]),
    )
  }

  /** Keys of no document (notifications): entries of a range, after the logged writes before it. */
  readRange(label: string, range: { gt: Array<string | number>; lt: Array<string | number>; reverse?: boolean }): Promise<Array<[Array<string | number>, Uint8Array]>> {
    return this.chains.runDirect(label, (db) => db.iterator(range).all() as Promise<Array<[Array<string | number>, Uint8Array]>>)
  }

  /** Keys of no document (notifications): one atomic batch. */
  async writeDirect(label: string, ops: readonly LogOp[]): Promise<void> {
    this.known.noteWrites(ops)
    if (ops.length > 0) await this.chains.runDirect(label, (db) => db.batch([...ops]))
  }

  /** Appends one update; resolves once it is durable (in the write-ahead log). */
  async storeUpdate(storageName: string, update: Uint8Array): Promise<void> {
    await this.appendBatch(storageName, { update })
  }

  /**
   * Merges all stored updates of a document into one (what y-leveldb's flushDocument does: the
   * merged update at the next clock and a fresh state vector entry), and deletes the merged ones in
   * the same atomic batch. On the document's chain, so no write of it interleaves.
   *
   * `state`: the document as the caller holds it, which must be exactly what is stored when the
   * call is made (a room whose writes are all durable and none is queued): then nothing is read
   * back and rebuilt. Writes queued after the call come after it on the chain, as usual.
   *
   * Resolves with the merged update's size in bytes, or null when there was nothing to merge.
   */
  async compact(storageName: string, state?: { update: Uint8Array; stateVector: Uint8Array }): Promise<number | null> {
    // The merged update's clock is taken now, in call order: a write logged after this call gets a
    // later clock even though LevelDB receives it after the compaction (it waits on the chain).
    const known = this.clocks.get(storageName)
    const reserved = known === undefined ? null : known + 1
    if (reserved !== null) this.clocks.set(storageName, reserved)
    return this.chains.runFor(storageName, `compact ${storageName}`, async (db) => {
      const compaction = await planCompaction(db, storageName, state, reserved)
      if (compaction === null) return null
      try {
        await db.batch(compaction.ops)
        if (reserved === null) this.clocks.set(storageName, Math.max(compaction.clock, this.clocks.get(storageName) ?? -1))
        return compaction.bytes
      } catch (error) {
        this.clocks.delete(storageName)
        throw error
      }
    })
  }

  /** Key rotation (reencryption.ts): new records of the tenant(s) are sealed with the new key from now on. */
  async rotateDataKeys(tenant: string | null): Promise<Record<string, number>> {
    const rotated = this.sealing.keyring.rotateDataKeys(tenant)
    this.sealing.saveKeyring()
    return rotated
  }

  /** A new master key: every data key and the canary are wrapped under it (the records stay as they are). */
  async rewrapMasterKey(masterKey: Buffer): Promise<void> {
    this.sealing.keyring.rewrap(masterKey)
    this.sealing.saveKeyring()
  }

  currentKeyIds(): Record<string, number> {
    const ids: Record<string, number> = {}
    for (const [tenant, keys] of this.sealing.keyring.dataKeyIds()) ids[tenant] = keys.at(-1)!
    return ids
  }

  async countRecords(): Promise<number> {
    return (await this.db!.keys({}).all()).length
  }

  /** Rewrites a chunk of records under their tenant's current key (levelDbReencryption.ts). */
  async resealChunk(cursor: ReencryptionCursor, limit: number): Promise<{ last: RecordLocation | null; scanned: number; rewritten: number }> {
    return resealLevelDbChunk({ raw: this.db!, sealing: this.sealing, chains: this.chains }, cursor, limit)
  }

  async retireKeysBelow(targets: Readonly<Record<string, number>>): Promise<void> {
    const { keyring } = this.sealing
    for (const [tenant, ids] of keyring.dataKeyIds()) {
      const target = targets[tenant]
      if (target !== undefined) keyring.retire(tenant, ids.filter((id) => id < target))
    }
    this.sealing.saveKeyring()
  }

  async loadReencryptionCursor(): Promise<ReencryptionCursor | null> {
    return loadReencryptionCursor(this.location)
  }

  async saveReencryptionCursor(cursor: ReencryptionCursor | null): Promise<void> {
    return saveReencryptionCursor(this.location, cursor)
  }

  /** One writer (LevelDB's lock): nothing to claim. */
  async claim(): Promise<void> {}

  /** Until closed: LevelDB is local, there is nothing to lose contact with (a failed write closes its room with 4500). */
  get healthy(): boolean {
    return this.wal !== null
  }

  async notifications(tenant: string, userId: string): Promise<Notification[]> {
    const entries = await this.readRange(`notifications ${tenant}/${userId}`, { ...notificationRange(tenant, userId), reverse: true })
    return entries.map(([, value]) => decodeNotification(value))
  }

  async writeNotifications(tenant: string, userId: string, { put, drop }: { put: readonly Notification[]; drop: readonly string[] }): Promise<void> {
    await this.writeDirect(`notifications ${tenant}/${userId}`, [
      ...put.map(notificationOp),
      ...drop.map((id): LogOp => ({ type: 'del', key: notificationKey(tenant, userId, id) })),
    ])
  }

  /** Waits for every document's pending operations, then closes the log and LevelDB. */
  async close(): Promise<void> {
    await this.chains.drained()
    this.wal?.close()
    this.wal = null
    await this.runGlobal('close', (db: { close(): Promise<void> }) => db.close())
  }

  /** Through y-leveldb's own chain: opening and closing the database. */
  private async runGlobal<T>(label: string, operation: (db: never) => Promise<T>): Promise<T> {
    type Outcome = { ok: true; value: T } | { ok: false; error: unknown }
    const outcome: Outcome | null = await this.persistence._transact(async (db): Promise<Outcome> => {
      try {
        return { ok: true, value: await operation(db as never) }
      } catch (error) {
        return { ok: false, error }
      }
    })
    if (outcome === null || !outcome.ok) {
      const cause = outcome === null ? 'unknown error' : describeError(outcome.error)
      throw new CollabError(ErrorCode.PersistenceFailed, `${label}: ${cause}`)
    }
    return outcome.value
  }

  private log(): WriteAheadLog {
    if (!this.wal) throw new CollabError(ErrorCode.PersistenceFailed, 'the store is closed')
    return this.wal
  }

  private database(): LevelBatchDb {
    if (!this.sealed) throw new Error('the store is not open')
    return this.sealed
  }


}
