import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { LeveldbPersistence, getCurrentUpdateClock, getLevelUpdates } from 'y-leveldb'
import {
  decodeBase,
  decodeEvent,
  documentAsOf,
  encodeBase,
  encodeEvent,
  eventBaseKey,
  eventKey,
  eventRange,
  type EventBase,
  type EventRecord,
} from './eventLog.ts'
import { reviewKey, reviewRange, type ReviewItem } from '../reviews/reviewItem.ts'
import { conflictKey, conflictRange, type Conflict } from '../gate/conflicts.ts'
import { checkUpdateStructure } from '../updateGuard.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * The server's durable store: y-leveldb in the data directory, with its failures made visible.
 *
 * y-leveldb runs every operation through `_transact`, which catches any error, logs it with
 * console.warn and resolves with `null`. A write that failed would therefore look like a write that
 * succeeded. Every operation here runs inside `_transact` (so it is serialized with y-leveldb's own
 * operations) but catches its own error and rethrows it as ERR_PERSISTENCE_FAILED.
 */
export class DocumentStore {
  private readonly persistence: LeveldbPersistence

  private constructor(readonly location: string) {
    this.persistence = new LeveldbPersistence(location)
  }

  /** Opens (and locks) the LevelDB in `location`; fails clearly when another process holds it. */
  static async open(location: string): Promise<DocumentStore> {
    const store = new DocumentStore(location)
    try {
      await store.run('open', async (db: { open(): Promise<void> }) => db.open())
    } catch (error) {
      if (/lock/i.test((error as Error).message)) {
        throw new CollabError(ErrorCode.DataDirLocked, `data directory ${location} is locked: another server is using it`)
      }
      throw error
    }
    return store
  }

  /** All stored updates of a document, oldest first. */
  loadUpdates(storageName: string): Promise<Uint8Array[]> {
    return this.run(`load ${storageName}`, (db) => getLevelUpdates(db, storageName))
  }

  /** Builds the stored document. Throws ERR_PERSISTENCE_FAILED when LevelDB cannot be read. */
  async loadDoc(storageName: string): Promise<{ doc: Y.Doc; storedUpdates: number }> {
    const updates = await this.loadUpdates(storageName)
    // What is on disk is checked like what comes off the network: a damaged record must fail the
    // load with a clear error, not make Yjs allocate from a garbage header.
    updates.forEach((update, index) => {
      const check = checkUpdateStructure(update)
      if (!check.ok) {
        throw new CollabError(
          ErrorCode.PersistenceFailed,
          `stored update #${index} of ${storageName} is damaged (${check.code}); run posalpro-admin docs verify`,
        )
      }
    })
    const doc = new Y.Doc({ gc: true })
    doc.transact(() => {
      for (const update of updates) Y.applyUpdate(doc, update)
    })
    return { doc, storedUpdates: updates.length }
  }

  /** The storage names of every stored document (y-leveldb keeps a state vector per document). */
  async documentNames(): Promise<string[]> {
    const names = await this.persistence.getAllDocNames()
    if (!Array.isArray(names)) throw new CollabError(ErrorCode.PersistenceFailed, 'listing documents failed')
    return names
  }

  /**
   * One atomic write (a LevelDB batch): the document update (if any), its event-log records and
   * review items. Either all of it is on disk afterwards or none of it: the event log and the
   * document never disagree, and a compensation is never stored without the update it corrects.
   */
  async appendBatch(
    storageName: string,
    {
      update,
      events = [],
      reviews = [],
      conflicts = [],
    }: { update: Uint8Array | null; events?: readonly EventRecord[]; reviews?: readonly ReviewItem[]; conflicts?: readonly Conflict[] },
  ): Promise<void> {
    await this.run(`append ${storageName}`, async (db: LevelBatchDb) => {
      const ops: BatchOp[] = []
      if (update) {
        const clock = await getCurrentUpdateClock(db, storageName)
        if (clock === -1) {
          // y-leveldb keeps a state vector entry per document; its document listing relies on it.
          // Read from the update itself: no Y.Doc needed.
          const entry = encoding.createEncoder()
          encoding.writeVarUint(entry, 0)
          encoding.writeVarUint8Array(entry, Y.encodeStateVectorFromUpdate(update))
          ops.push({ type: 'put', key: ['v1_sv', storageName], value: Buffer.from(encoding.toUint8Array(entry)) })
        }
        ops.push({ type: 'put', key: ['v1', storageName, 'update', clock + 1], value: Buffer.from(update) })
      }
      for (const event of events) ops.push({ type: 'put', key: eventKey(storageName, event.seq), value: Buffer.from(encodeEvent(event)) })
      for (const review of reviews) {
        ops.push({ type: 'put', key: reviewKey(review.tenant, review.id), value: Buffer.from(JSON.stringify(review)) })
      }
      conflicts.forEach((conflict, index) => {
        const key = conflictKey(storageName, conflict.eventSeq ?? 0, index)
        ops.push({ type: 'put', key, value: Buffer.from(JSON.stringify(conflict)) })
      })
      if (ops.length > 0) await db.batch(ops)
    })
  }

  /** Event-log records of a document with `fromSeq <= seq <= toSeq`, oldest first (or newest first with reverse). */
  readEvents(storageName: string, { fromSeq = 1, toSeq = 0xffffffff, limit = -1, reverse = false } = {}): Promise<EventRecord[]> {
    return this.run(`events ${storageName}`, async (db: LevelBatchDb) => {
      const values = await db.values({ gte: eventKey(storageName, fromSeq), lte: eventKey(storageName, toSeq), limit, reverse }).all()
      return values.map((value) => decodeEvent(value))
    })
  }

  /** The retention base of a document's event log, or null when nothing was pruned yet. */
  async eventBase(storageName: string): Promise<EventBase | null> {
    const [value] = await this.run(`events ${storageName}`, (db: LevelBatchDb) =>
      db.values({ gte: eventBaseKey(storageName), lte: eventBaseKey(storageName) }).all(),
    )
    return value ? decodeBase(value) : null
  }

  /**
   * Retention: folds every event recorded before `cutoff` (ms epoch) into the base and deletes it,
   * in one atomic batch. The log still rebuilds the document; time travel reaches the base.
   * Returns how many events were pruned.
   */
  async pruneEvents(storageName: string, cutoff: number): Promise<number> {
    return this.run(`prune ${storageName}`, async (db: LevelBatchDb) => {
      // Events are in time order: read from the oldest and stop at the first one still retained,
      // so a load costs O(expired events), not O(history).
      const expired: EventRecord[] = []
      const iterator = db.values(eventRange(storageName))
      try {
        for (let value = await iterator.next(); value !== undefined; value = await iterator.next()) {
          const event = decodeEvent(value)
          if (event.at >= cutoff) break
          expired.push(event)
        }
      } finally {
        await iterator.close()
      }
      if (expired.length === 0) return 0
      const [baseBytes] = await db.values({ gte: eventBaseKey(storageName), lte: eventBaseKey(storageName) }).all()
      const base = baseBytes ? decodeBase(baseBytes) : null
      const last = expired.at(-1)!.seq
      const folded = Y.encodeStateAsUpdate(documentAsOf(base, expired, last))
      await db.batch([
        { type: 'put', key: eventBaseKey(storageName), value: Buffer.from(encodeBase({ seq: last, update: folded })) },
        ...expired.map((event): BatchOp => ({ type: 'del', key: eventKey(storageName, event.seq) })),
      ])
      return expired.length
    })
  }

  /** The highest event sequence number of a document (0 when it has none). */
  async lastEventSeq(storageName: string): Promise<number> {
    const [last] = await this.run(`events ${storageName}`, (db: LevelBatchDb) =>
      db.keys({ ...eventRange(storageName), limit: 1, reverse: true }).all(),
    )
    // Everything may have been pruned: numbering continues after the base.
    return last ? Number(last[2]) : ((await this.eventBase(storageName))?.seq ?? 0)
  }

  /** The conflicts recorded for a document, oldest first. */
  async listConflicts(storageName: string): Promise<Conflict[]> {
    const values = await this.run(`conflicts ${storageName}`, (db: LevelBatchDb) => db.values(conflictRange(storageName)).all())
    return values.map((value) => JSON.parse(Buffer.from(value).toString('utf8')) as Conflict)
  }

  async getReview(tenant: string, id: string): Promise<ReviewItem | null> {
    const [value] = await this.run(`review ${id}`, (db: LevelBatchDb) =>
      db.values({ gte: reviewKey(tenant, id), lte: reviewKey(tenant, id) }).all(),
    )
    return value ? (JSON.parse(Buffer.from(value).toString('utf8')) as ReviewItem) : null
  }

  async listReviews(tenant: string): Promise<ReviewItem[]> {
    const values = await this.run(`reviews ${tenant}`, (db: LevelBatchDb) => db.values(reviewRange(tenant)).all())
    return values.map((value) => JSON.parse(Buffer.from(value).toString('utf8')) as ReviewItem)
  }

  async putReview(review: ReviewItem): Promise<void> {
    await this.run(`review ${review.id}`, (db: LevelBatchDb) =>
      db.batch([{ type: 'put', key: reviewKey(review.tenant, review.id), value: Buffer.from(JSON.stringify(review)) }]),
    )
  }

  /** Appends one update; resolves only once LevelDB has accepted the write. */
  async storeUpdate(storageName: string, update: Uint8Array): Promise<void> {
    const clock = await this.persistence.storeUpdate(storageName, update)
    // y-leveldb resolves with null when its transaction wrapper swallowed an error.
    if (typeof clock !== 'number') {
      throw new CollabError(ErrorCode.PersistenceFailed, `storing an update of ${storageName} failed`)
    }
  }

  /** Merges all stored updates of a document into one (y-leveldb's flushDocument). */
  async compact(storageName: string): Promise<void> {
    const result = await this.persistence.flushDocument(storageName)
    if (result === null) throw new CollabError(ErrorCode.PersistenceFailed, `compacting ${storageName} failed`)
  }

  async close(): Promise<void> {
    await this.run('close', (db: { close(): Promise<void> }) => db.close())
  }

  private async run<T>(label: string, operation: (db: never) => Promise<T>): Promise<T> {
    type Outcome = { ok: true; value: T } | { ok: false; error: unknown }
    const outcome: Outcome | null = await this.persistence._transact(async (db): Promise<Outcome> => {
      try {
        return { ok: true, value: await operation(db as never) }
      } catch (error) {
        return { ok: false, error }
      }
    })
    if (outcome === null || !outcome.ok) {
      const cause = outcome === null ? 'unknown error' : describe(outcome.error)
      throw new CollabError(ErrorCode.PersistenceFailed, `${label}: ${cause}`)
    }
    return outcome.value
  }
}

type BatchOp = { type: 'put'; key: Array<string | number>; value: Buffer } | { type: 'del'; key: Array<string | number> }
interface RangeOptions {
  gt?: Array<string | number>
  gte?: Array<string | number>
  lt?: Array<string | number>
  lte?: Array<string | number>
  limit?: number
  reverse?: boolean
}
/** The part of the abstract-level API used here (y-leveldb opens it with its key/value encodings). */
interface LevelBatchDb {
  batch(ops: BatchOp[]): Promise<void>
  values(options: RangeOptions): { all(): Promise<Uint8Array[]>; next(): Promise<Uint8Array | undefined>; close(): Promise<void> }
  keys(options: RangeOptions): { all(): Promise<Array<Array<string | number>>> }
}

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const { cause, code } = error as Error & { cause?: unknown; code?: string }
  const text = code ? `${code}: ${error.message}` : error.message
  return cause instanceof Error ? `${text} (${describe(cause)})` : text
}
