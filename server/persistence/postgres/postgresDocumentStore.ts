import pg from 'pg'
import * as Y from 'yjs'
import { decodeEvent, documentAsOf, type EventBase, type EventRecord } from '../eventLog.ts'
import type { AtRestOptions } from '../../crypto/atRest.ts'
import { KeyringConflict, type RowSealer } from './sealedRows.ts'
import { SharedKeyring } from './sharedKeyring.ts'
import { countSealedRows, loadCursor, resealRows, saveCursor } from './postgresReencryption.ts'
import type { ReencryptionCursor } from '../reencryption.ts'
import type { RecordLocation } from '../../crypto/recordCodec.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import type { ConflictRecord as Conflict } from '../../../shared/conflictRecord.ts'
import type { OwnerClaim } from '../../gate/clientOwnership.ts'
import { CollabError, ErrorCode, isCollabError } from '../../../shared/errors.ts'
import { checkStoredUpdateStructure } from '../../protocol/updateGuard.ts'
import { checkEpoch, fenceDocument, staleEpoch } from './epochFence.ts'
import { batchStatement, REFUSED } from './batchStatement.ts'
import {
  baseLocation,
  conflictLocation,
  eventLocation,
  notificationLocation,
  ownerLocation,
  reviewLocation,
  stateVectorLocation,
  summaryLocation,
  updateLocation,
} from './rowLocations.ts'
import { runMigrations } from './migrations.ts'
import { MIGRATIONS } from './schema.ts'
import { beginWith, inTransaction, persistenceFailed } from './transaction.ts'
import type { Notification } from '../../notifications/notification.ts'

export type { DocumentBatch } from '../documentStorage.ts'
import type { DocumentBatch } from '../documentStorage.ts'

export interface PostgresStoreOptions {
  /** Connections in the pool. Each document's writes take turns on its epoch row anyway. */
  readonly maxConnections?: number
  /** A connection that cannot be had within this is an error, not a wait without end. */
  readonly connectTimeoutMs?: number
  /**
   * Any one statement running longer than this is cancelled by the server (an error). Default
   * 10 s, the lease time: a write that has not committed by then is worthless anyway, since
   * another node may own the document.
   */
  readonly statementTimeoutMs?: number
  /**
   * A query not answered within this fails on this side (ERR_PERSISTENCE_FAILED): a server that
   * is paused or cut off cancels nothing, so without it a write would wait without end. Above
   * statementTimeoutMs, so a slow statement is the server's to cancel first.
   */
  readonly queryTimeoutMs?: number
  /**
   * A session idle inside a transaction for this long is ended by the server. A node paused in
   * the middle of a write (GC, SIGSTOP) holds its document's epoch row locked; without this the
   * node that takes the document over would wait for it without end. Below the lease time, so
   * the new owner's first write waits less than a handover takes anyway.
   */
  readonly idleInTransactionTimeoutMs?: number
  /** Encryption at rest: with a master key every row's values are sealed (sealedRows.ts). */
  readonly atRest?: AtRestOptions
}

/**
 * Cluster mode's durable store: PostgreSQL. An update is durable once the transaction that
 * stores it has committed; every write is fenced by the writer's lease epoch (epochFence.ts) in
 * that same transaction, so a node that lost a document can never store anything of it again.
 */
export class PostgresDocumentStore {
  /** What reads open rows with: the keyring as last loaded (writes pin theirs: `sealedTransaction`). */
  private readonly sealer: RowSealer
  /**
   * Documents whose `documents` row a write of this process has committed: their next writes skip
   * inserting it (one part less in the write's statement). Added only after the commit — a
   * rolled-back first write leaves the document unlisted, and its next write inserts the row. Rows
   * are never deleted.
   */
  private readonly listed = new Set<string>()
  /**
   * Per document, the clock its next update is stored at, as this process last saw it (a load, its
   * own commits): a sealed update is bound to its clock, so it must be known before the write's one
   * statement is built. The statement checks it; one taken meanwhile is read again and the write
   * sent again. Forgotten when the room unloads (`forget`), and bounded.
   */
  private readonly nextClocks = new Map<string, number>()
  /** Per document, the tail of this process's writes to it (see `inTurn`). */
  private readonly turns = new Map<string, Promise<void>>()

  private constructor(
    private readonly pool: pg.Pool,
    readonly keyring: SharedKeyring,
  ) {
    this.sealer = keyring.sealer
  }

  /** Connects and brings the schema up to date (migrations.ts: safe when several nodes start at once). */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresDocumentStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      query_timeout: options.queryTimeoutMs ?? 15_000,
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 5_000,
    })
    // An idle connection's error (the server restarted) must not crash the process: the pool
    // drops that connection and the next query gets a new one.
    pool.on('error', () => {})
    let keyring: SharedKeyring
    try {
      // The master key is checked before the migrations: a refused start changes nothing.
      keyring = await SharedKeyring.open(pool, options.atRest, 'the PostgreSQL store')
      await runMigrations(pool, MIGRATIONS)
      await keyring.saveOpened(pool)
    } catch (error) {
      await pool.end()
      // The keyring is read first now: a database that cannot be reached fails there, coded like any store failure.
      throw error instanceof CollabError ? error : persistenceFailed('open the PostgreSQL store', error)
    }
    return new PostgresDocumentStore(pool, keyring)
  }

  /**
   * Raises the document's fence to `epoch` without writing anything: a node that has just taken
   * the document's lease claims it *before* loading it. From the commit on, the previous owner's
   * writes are refused, so what the new owner loads holds every write that was ever acknowledged,
   * and none can be acknowledged behind its back. ERR_STALE_EPOCH when a higher epoch has already
   * claimed or written it.
   */
  async claim(document: string, epoch: number): Promise<void> {
    await inTransaction(this.pool, `claim ${document}`, (client) => fenceDocument(client, document, epoch))
  }

  /**
   * Takes the document's next epoch (one above any that claimed or wrote it) and returns it: a
   * single node's claim when it loads a document, so two nodes that load it in turn fence each
   * other — the earlier one's writes are refused from then on.
   */
  async claimNext(document: string): Promise<number> {
    const { rows } = await this.query<{ epoch: string }>(
      `claim ${document}`,
      `INSERT INTO document_epochs (document, epoch) VALUES ($1, 1)
       ON CONFLICT (document) DO UPDATE SET epoch = document_epochs.epoch + 1, since = now()
       RETURNING epoch`,
      [document],
    )
    return Number(rows[0]!.epoch)
  }

  /**
   * The fenced group commit: one transaction of ONE statement (batchStatement.ts) that checks
   * `epoch` against the document's fence (and, encrypted, the key generation), then stores the
   * update (at the next clock) with its state vector, event records, review items, conflicts and
   * client owners. All of it or nothing; a stale epoch stores nothing and rejects with
   * ERR_STALE_EPOCH. Resolves once committed: only then may it be acknowledged and broadcast.
   */
  async appendBatch(document: string, epoch: number, batch: DocumentBatch): Promise<void> {
    const { update, events = [], reviews = [], conflicts = [], owners = [] } = batch
    // Nothing to store (a message that changed nothing): every earlier batch has committed already.
    if (!update && events.length + reviews.length + conflicts.length + owners.length === 0) return
    await this.write(`append ${document}`, document, epoch, batch, null)
  }

  /**
   * A document copied in from another store (the migration from LevelDB), fenced, in one statement
   * like a batch: its event log's retention base, then everything a batch holds.
   */
  async importDocument(document: string, epoch: number, batch: DocumentBatch & { readonly eventBase?: EventBase | null }): Promise<void> {
    await this.write(`import ${document}`, document, epoch, batch, batch.eventBase ?? null)
  }

  /** The room unloaded the document: its next clock is read again when it is loaded again. */
  forget(document: string): void {
    this.nextClocks.delete(document)
  }

  /**
   * One write: BEGIN with its one statement (one round trip: `beginWith`), then COMMIT (why not
   * the statement alone: batchStatement.ts). When sealing changed the keyring (a tenant's first
   * key) the keyring is saved before the COMMIT (sharedKeyring.ts `saveIn`). Sent again, sealed
   * anew, when a check in the statement found something moved that this node can catch up with:
   * the data keys rotated (the keyring is reloaded), the clock taken (read again).
   */
  private write(label: string, document: string, epoch: number, batch: DocumentBatch, eventBase: EventBase | null): Promise<void> {
    checkEpoch(epoch)
    return this.inTurn(document, async () => {
      for (let attempt = 1; ; attempt++) {
        const { loaded, sealer } = this.keyring.pin()
        const clock = batch.update ? await this.nextClock(document) : null
        let refusal: Refusal | null = null
        try {
          const statement = batchStatement(sealer, { document, epoch, keyGeneration: loaded.codec ? loaded.generation : null, clock, listed: this.listed.has(document), batch, eventBase })
          const saved = await inTransaction(
            this.pool,
            label,
            (client) =>
              this.keyring.saveIn(client, loaded).catch((error: unknown) => {
                refusal = error instanceof KeyringConflict ? 'keyring' : refusalOf(error)
                throw error
              }),
            // The statement rides with the BEGIN: two round trips in all, with the COMMIT.
            (client) =>
              beginWith(client, statement).catch((error: unknown) => {
                refusal = refusalOf(error)
                throw error
              }),
          )
          saved?.()
        } catch (error) {
          const why = refusal as Refusal | null
          // The statement says only that it was refused; the fence as it stands now, for the message.
          if (why === 'stale') throw staleEpoch(document, epoch, await this.highestEpoch(document).catch(() => null))
          if (why === 'clock') this.nextClocks.delete(document)
          const unknownKey = isCollabError(error) && error.code === ErrorCode.UnknownDataKey
          if ((why === null && !unknownKey) || attempt >= 5) throw error instanceof CollabError ? error : persistenceFailed(label, error)
          // The keys moved (or two savers deadlocked, as a transaction of several statements did): reload.
          if (why !== 'clock') await this.keyring.reload(this.pool)
          continue
        }
        if (clock !== null) {
          this.learnClock(document, clock + 1, { replace: true })
          this.listed.add(document)
        }
        return
      }
    })
  }

  /**
   * This process's writes to one document, in turn: each is one statement whose update was sealed
   * at a clock read before it, so two at once would take the same clock (one then fails and is sent
   * again). In turn they never do, and none holds a connection waiting for another's row lock.
   */
  private inTurn<T>(document: string, work: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(document) ?? Promise.resolve()
    const result = previous.then(work)
    const done = result.then(
      () => {},
      () => {},
    )
    this.turns.set(document, done)
    void done.then(() => {
      if (this.turns.get(document) === done) this.turns.delete(document)
    })
    return result
  }

  /** The document's next clock: as last seen, else read (no lock: the write's statement checks it). */
  private async nextClock(document: string): Promise<number> {
    const known = this.nextClocks.get(document)
    if (known !== undefined) return known
    const { rows } = await this.query<{ clock: string }>(`clock ${document}`, 'SELECT coalesce(max(clock) + 1, 0) AS clock FROM document_updates WHERE document = $1', [document])
    return Number(rows[0]!.clock)
  }

  /**
   * Notes a document's next clock. A load notes it only when nothing newer is known (a write of
   * this process may have committed since the load read); a commit of this process replaces it.
   */
  private learnClock(document: string, clock: number, { replace }: { replace: boolean }): void {
    if (!replace && this.nextClocks.has(document)) return
    this.nextClocks.delete(document)
    this.nextClocks.set(document, clock)
    // The oldest noted goes first: a miss costs one read, never a wrong write (the statement checks).
    if (this.nextClocks.size > MAX_NOTED_CLOCKS) this.nextClocks.delete(this.nextClocks.keys().next().value!)
  }

  /** All stored updates of a document, oldest first. */
  async loadUpdates(document: string): Promise<Uint8Array[]> {
    return this.opening(async () => {
      const { rows } = await this.query<{ clock: string; update: Buffer }>(`load ${document}`, 'SELECT clock, "update" FROM document_updates WHERE document = $1 ORDER BY clock', [document])
      this.learnClock(document, rows.length === 0 ? 0 : Number(rows.at(-1)!.clock) + 1, { replace: false })
      return rows.map((row) => this.sealer.openBytes(updateLocation(document, row.clock), bytesOf(row.update)))
    })
  }

  /**
   * What a cold load needs, read in one statement so the two agree: the stored updates, oldest
   * first, each checked like what comes off the network (a damaged one fails the load with
   * ERR_PERSISTENCE_FAILED instead of making Yjs allocate from a garbage header), and the state
   * vector when it is current (stored with the last update), else null.
   */
  async loadStored(document: string): Promise<{ updates: Uint8Array[]; stateVector: Uint8Array | null }> {
    return this.opening(async () => {
      const { rows } = await this.query<{ clock: string; update: Buffer; state_vector: Buffer | null }>(
        `load ${document}`,
        `SELECT u.clock, u."update", CASE WHEN u.clock = s.clock THEN s.state_vector END AS state_vector
         FROM document_updates u LEFT JOIN document_state_vectors s ON s.document = u.document
         WHERE u.document = $1 ORDER BY u.clock`,
        [document],
      )
      this.learnClock(document, rows.length === 0 ? 0 : Number(rows.at(-1)!.clock) + 1, { replace: false })
      const updates = rows.map((row) => this.sealer.openBytes(updateLocation(document, row.clock), bytesOf(row.update)))
      updates.forEach((update, index) => {
        const check = checkStoredUpdateStructure(update)
        if (!check.ok) throw new CollabError(ErrorCode.PersistenceFailed, `stored update #${index} of ${document} is damaged (${check.code})`)
      })
      const lastRow = rows.at(-1)
      const last = lastRow?.state_vector
      return { updates, stateVector: last ? this.sealer.openBytes(stateVectorLocation(document, lastRow.clock), bytesOf(last)) : null }
    })
  }

  /**
   * Merges a document's stored updates into one, in one fenced transaction: the merged update at
   * the next clock (with its state vector) replaces the ones it merged. Readers see the updates
   * before or after, never a mix. Resolves with the merged size in bytes, or null when there was
   * nothing to merge.
   */
  compact(document: string, epoch: number): Promise<number | null> {
    // In turn with the document's writes: it moves the next clock, which they seal at.
    return this.inTurn(document, async () => {
      const compacted = await this.compactNow(document, epoch)
      if (compacted) this.learnClock(document, compacted.nextClock, { replace: true })
      return compacted?.bytes ?? null
    })
  }

  private compactNow(document: string, epoch: number): Promise<{ bytes: number; nextClock: number } | null> {
    return this.sealedTransaction(`compact ${document}`, async (client, sealer) => {
      await fenceDocument(client, document, epoch)
      const { rows } = await client.query<{ clock: string; update: Buffer }>(
        'SELECT clock, "update" FROM document_updates WHERE document = $1 ORDER BY clock',
        [document],
      )
      if (rows.length <= 1) return null
      const doc = new Y.Doc({ gc: true })
      let merged: Uint8Array
      let stateVector: Uint8Array
      try {
        doc.transact(() => {
          for (const row of rows) Y.applyUpdate(doc, sealer.openBytes(updateLocation(document, row.clock), bytesOf(row.update)))
        })
        merged = Y.encodeStateAsUpdate(doc)
        stateVector = Y.encodeStateVector(doc)
      } finally {
        doc.destroy()
      }
      const last = Number(rows.at(-1)!.clock)
      await client.query('DELETE FROM document_updates WHERE document = $1 AND clock <= $2', [document, last])
      await client.query('INSERT INTO document_updates (document, clock, "update", epoch) VALUES ($1, $2, $3, $4)', [
        document,
        last + 1,
        sealer.sealBytes(updateLocation(document, last + 1), merged),
        epoch,
      ])
      await putStateVector(client, sealer, document, last + 1, stateVector)
      return { bytes: merged.byteLength, nextClock: last + 2 }
    })
  }

  /**
   * The highest epoch that has written the document (0: none). A node acquiring the document's
   * lease passes it on (`DocumentLeases.acquire({ after })`), so its epoch is above it even if
   * Redis lost its counters.
   */
  async highestEpoch(document: string): Promise<number> {
    const { rows } = await this.query<{ epoch: string }>(`epoch ${document}`, 'SELECT epoch FROM document_epochs WHERE document = $1', [document])
    return rows[0] ? Number(rows[0].epoch) : 0
  }

  /** The storage names of a tenant's documents, sorted. */
  async documentNames(tenant: string): Promise<string[]> {
    const { rows } = await this.query<{ name: string }>(`documents ${tenant}`, 'SELECT name FROM documents WHERE tenant = $1 ORDER BY name', [tenant])
    return rows.map((row) => row.name)
  }

  /** Event-log records of a document with `fromSeq <= seq <= toSeq`, oldest first (or newest first with reverse). */
  async readEvents(document: string, { fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER, limit = -1, reverse = false } = {}): Promise<EventRecord[]> {
    return this.opening(async () => {
      const { rows } = await this.query<EventRow>(
        `events ${document}`,
        `SELECT * FROM events WHERE document = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq ${reverse ? 'DESC' : 'ASC'} LIMIT $4`,
        [document, fromSeq, toSeq, limit < 0 ? null : limit],
      )
      return rows.map((row) => eventOf(this.sealer, document, row))
    })
  }

  /** The retention base of a document's event log, or null when nothing was pruned yet. */
  async eventBase(document: string): Promise<EventBase | null> {
    return this.opening(async () => {
      const { rows } = await this.query<{ seq: string; update: Buffer }>(`events ${document}`, 'SELECT seq, "update" FROM event_bases WHERE document = $1', [document])
      return rows[0] ? { seq: Number(rows[0].seq), update: this.sealer.openBytes(baseLocation(document, rows[0].seq), bytesOf(rows[0].update)) } : null
    })
  }

  /** The highest event sequence number of a document (0 when it has none); numbering continues after a pruned base. */
  async lastEventSeq(document: string): Promise<number> {
    const { rows } = await this.query<{ seq: string | null }>(
      `events ${document}`,
      'SELECT greatest((SELECT max(seq) FROM events WHERE document = $1), (SELECT seq FROM event_bases WHERE document = $1)) AS seq',
      [document],
    )
    return Number(rows[0]?.seq ?? 0)
  }

  /**
   * Retention: folds every event recorded before `cutoff` (ms epoch) into the base and deletes
   * it, in one fenced transaction. The log still rebuilds the document; time travel reaches the
   * base. Returns how many events were pruned.
   */
  async pruneEvents(document: string, epoch: number, cutoff: number): Promise<number> {
    return this.sealedTransaction(`prune ${document}`, async (client, sealer) => {
      await fenceDocument(client, document, epoch)
      // The expired events are the log up to the first one still retained (as the LevelDB store
      // reads them): a clock that stepped back never leaves a hole in the log.
      const { rows } = await client.query<EventRow>(
        `SELECT * FROM events WHERE document = $1
           AND seq < coalesce((SELECT min(seq) FROM events WHERE document = $1 AND at >= $2), 9223372036854775807)
         ORDER BY seq`,
        [document, cutoff],
      )
      if (rows.length === 0) return 0
      const expired = rows.map((row) => eventOf(sealer, document, row))
      const { rows: bases } = await client.query<{ seq: string; update: Buffer }>('SELECT seq, "update" FROM event_bases WHERE document = $1', [document])
      const base = bases[0] ? { seq: Number(bases[0].seq), update: sealer.openBytes(baseLocation(document, bases[0].seq), bytesOf(bases[0].update)) } : null
      const last = expired.at(-1)!.seq
      const folded = documentAsOf(base, expired, last)
      try {
        await client.query(
          `INSERT INTO event_bases (document, seq, "update") VALUES ($1, $2, $3)
           ON CONFLICT (document) DO UPDATE SET seq = EXCLUDED.seq, "update" = EXCLUDED."update"`,
          [document, last, sealer.sealBytes(baseLocation(document, last), Y.encodeStateAsUpdate(folded))],
        )
      } finally {
        folded.destroy()
      }
      await client.query('DELETE FROM events WHERE document = $1 AND seq <= $2', [document, last])
      return expired.length
    })
  }

  /** The owners of a document's Yjs client ids. */
  async clientOwners(document: string): Promise<OwnerClaim[]> {
    return this.opening(async () => {
      const { rows } = await this.query<{ client: string; user_id: string | null }>(
        `owners ${document}`,
        'SELECT client, user_id FROM client_owners WHERE document = $1 ORDER BY client',
        [document],
      )
      return rows.map((row) => ({ client: Number(row.client), userId: this.sealer.openText(ownerLocation(document, row.client), row.user_id) }))
    })
  }

  /** The conflicts recorded for a document, oldest first. */
  async listConflicts(document: string): Promise<Conflict[]> {
    return this.opening(async () => {
      const { rows } = await this.query<{ event_seq: string; position: number; conflict: unknown }>(
        `conflicts ${document}`,
        'SELECT event_seq, position, conflict FROM conflicts WHERE document = $1 ORDER BY event_seq, position',
        [document],
      )
      return rows.map((row) => this.sealer.openJson<Conflict>(conflictLocation(document, row.event_seq, row.position), row.conflict))
    })
  }

  async getReview(tenant: string, id: string): Promise<ReviewItem | null> {
    return this.opening(async () => {
      const { rows } = await this.query<{ item: unknown }>(`review ${id}`, 'SELECT item FROM reviews WHERE tenant = $1 AND id = $2', [tenant, id])
      return rows[0] ? this.sealer.openJson<ReviewItem>(reviewLocation(tenant, id), rows[0].item) : null
    })
  }

  /** The reviews of one document still waiting for a decision, oldest proposal first. */
  async pendingReviews(document: string): Promise<ReviewItem[]> {
    return this.opening(async () => {
      const { rows } = await this.query<{ tenant: string; id: string; item: unknown }>(
        `reviews ${document}`,
        `SELECT tenant, id, item FROM reviews WHERE document = $1 AND status = 'pending' ORDER BY event_seq, id`,
        [document],
      )
      return rows.map((row) => this.sealer.openJson<ReviewItem>(reviewLocation(row.tenant, row.id), row.item))
    })
  }

  /**
   * Every document of a tenant with its stored updates, their bytes and its last change (the
   * newest event's time), in one statement: what the document list and the admin API show.
   */
  async documentSummaries(tenant: string): Promise<Array<{ document: string; storedUpdates: number; bytes: number; lastChange: number | null }>> {
    const { rows } = await this.query<{ name: string; stored_updates: string; bytes: string; last_change: string | null }>(
      `summaries ${tenant}`,
      `SELECT d.name,
              (SELECT count(*) FROM document_updates u WHERE u.document = d.name) AS stored_updates,
              (SELECT coalesce(sum(octet_length(u."update")), 0) FROM document_updates u WHERE u.document = d.name) AS bytes,
              (SELECT e.at FROM events e WHERE e.document = d.name ORDER BY e.seq DESC LIMIT 1) AS last_change
       FROM documents d WHERE d.tenant = $1 ORDER BY d.name`,
      [tenant],
    )
    return rows.map((row) => ({
      document: row.name,
      storedUpdates: Number(row.stored_updates),
      bytes: Number(row.bytes),
      lastChange: row.last_change === null ? null : Number(row.last_change),
    }))
  }

  async listReviews(tenant: string): Promise<ReviewItem[]> {
    return this.opening(async () => {
      const { rows } = await this.query<{ id: string; item: unknown }>(`reviews ${tenant}`, 'SELECT id, item FROM reviews WHERE tenant = $1 ORDER BY id', [tenant])
      return rows.map((row) => this.sealer.openJson<ReviewItem>(reviewLocation(tenant, row.id), row.item))
    })
  }

  /** Every stored document's name, sorted. */
  async allDocumentNames(): Promise<string[]> {
    const { rows } = await this.query<{ name: string }>('documents', 'SELECT name FROM documents ORDER BY name', [])
    return rows.map((row) => row.name)
  }

  /** A user's lasting notifications, newest first (ids sort by time). */
  async notifications(tenant: string, userId: string): Promise<Notification[]> {
    return this.opening(async () => {
      const { rows } = await this.query<{ id: string; notification: unknown }>(
        `notifications ${tenant}/${userId}`,
        'SELECT id, notification FROM notifications WHERE tenant = $1 AND user_id = $2 ORDER BY id DESC',
        [tenant, userId],
      )
      return rows.map((row) => this.sealer.openJson<Notification>(notificationLocation(tenant, userId, row.id), row.notification))
    })
  }

  /** Stores (replacing by id) and deletes notifications of one user, in one transaction. */
  async writeNotifications(tenant: string, userId: string, { put, drop }: { put: readonly Notification[]; drop: readonly string[] }): Promise<void> {
    if (put.length + drop.length === 0) return
    await this.sealedTransaction(`notifications ${tenant}/${userId}`, async (client, sealer) => {
      for (const notification of put) await putNotification(client, sealer, notification)
      if (drop.length > 0) await client.query('DELETE FROM notifications WHERE tenant = $1 AND user_id = $2 AND id = ANY($3::text[])', [tenant, userId, [...drop]])
    })
  }

  /** Every document summary (server/summaries/), opened; read once at start. */
  async summaries(): Promise<Array<{ tenant: string; summary: unknown }>> {
    return this.opening(async () => {
      const { rows } = await this.query<{ tenant: string; document: string; summary: unknown }>('summaries', 'SELECT tenant, document, summary FROM document_summaries', [])
      return rows.map((row) => ({ tenant: row.tenant, summary: this.sealer.openJson<unknown>(summaryLocation(row.tenant, row.document), row.summary) }))
    })
  }

  /** Stores (replacing by tenant and document) summaries, in one transaction. */
  async writeSummaries(summaries: ReadonlyArray<{ tenant: string; document: string; summary: unknown }>): Promise<void> {
    if (summaries.length === 0) return
    await this.sealedTransaction('summaries', async (client, sealer) => {
      for (const { tenant, document, summary } of summaries) {
        await client.query(
          `INSERT INTO document_summaries (tenant, document, summary) VALUES ($1, $2, $3)
           ON CONFLICT (tenant, document) DO UPDATE SET summary = EXCLUDED.summary`,
          [tenant, document, sealer.sealJson(summaryLocation(tenant, document), summary)],
        )
      }
    })
  }

  /**
   * For the tables of other modules (the access audit): a transaction that may seal rows with the
   * store's sealer; the keyring is saved in it when sealing changed it, as for this store's own rows.
   */
  sealedRows<T>(label: string, work: (client: pg.PoolClient, sealer: RowSealer) => Promise<T>): Promise<T> {
    return this.sealedTransaction(label, work)
  }

  /** Key rotation (sharedKeyring.ts): every node seals new rows of the tenant(s) with the new key from its next write on. */
  rotateDataKeys(tenant: string | null): Promise<Record<string, number>> {
    return this.keyring.rotate(this.pool, tenant)
  }

  currentKeyIds(): Promise<Record<string, number>> {
    return this.keyring.currentKeyIds(this.pool)
  }

  dataKeyIds(tenant: string): Promise<number[]> {
    return this.keyring.dataKeyIds(this.pool, tenant)
  }

  countRecords(tenant: string | null = null): Promise<number> {
    return countSealedRows(this.pool, tenant)
  }

  /** A chunk of a re-encryption pass (postgresReencryption.ts), safe under live writes from any node. */
  resealChunk(cursor: ReencryptionCursor, limit: number): Promise<{ last: RecordLocation | null; scanned: number; rewritten: number }> {
    return resealRows({ pool: this.pool, codec: () => this.keyring.codecOrFail(), transaction: (label, work) => this.sealedTransaction(label, work) }, cursor, limit)
  }

  retireKeysBelow(targets: Readonly<Record<string, number>>): Promise<void> {
    return this.keyring.retireBelow(this.pool, targets)
  }

  loadReencryptionCursor(tenant: string | null = null): Promise<ReencryptionCursor | null> {
    return loadCursor(this.pool, tenant)
  }

  saveReencryptionCursor(cursor: ReencryptionCursor | null, tenant: string | null = cursor?.tenant ?? null): Promise<void> {
    return saveCursor(this.pool, tenant, cursor)
  }

  /** Online master-key rotation (sharedKeyring.ts): `keys` newest first; ERR_WRONG_MASTER_KEY changes nothing. */
  adoptMasterKeys(keys: readonly Buffer[]): Promise<void> {
    return this.keyring.adoptMasterKeys(this.pool, keys)
  }

  rewrapMasterKey(key: Buffer): Promise<void> {
    return this.keyring.rewrap(this.pool, key)
  }

  /** The fingerprint of the key among `keys` the stored keyring is wrapped under (null: none). */
  masterKeyWrappedUnder(keys: readonly Buffer[]): Promise<string | null> {
    return this.keyring.wrappedUnder(this.pool, keys)
  }

  /** Answers when the database does (the readiness probe). */
  async ping(): Promise<void> {
    await this.query('ping', 'SELECT 1', [])
  }

  async close(): Promise<void> {
    await this.pool.end()
  }

  /**
   * A transaction that seals or opens rows, with the keyring pinned for its whole run: it first
   * checks the keyring's key generation (under a share lock: no rotation or retirement commits
   * before it does), then works, then saves the keyring in the same transaction when sealing
   * changed it. When the keys were rotated, another node saved the keyring first, or a row names a
   * key not loaded yet, the keyring is reloaded and the whole transaction runs again.
   */
  private async sealedTransaction<T>(label: string, work: (client: pg.PoolClient, sealer: RowSealer) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let conflicted = false
      let saved: (() => void) | null = null
      const { loaded, sealer } = this.keyring.pin()
      try {
        const result = await inTransaction(this.pool, label, async (client) => {
          try {
            await this.keyring.check(client, loaded)
            const value = await work(client, sealer)
            saved = await this.keyring.saveIn(client, loaded)
            return value
          } catch (error) {
            conflicted =
              error instanceof KeyringConflict ||
              (isCollabError(error) && error.code === ErrorCode.UnknownDataKey) ||
              // Two savers upgrading their locks on the keyring row at once: PostgreSQL ends one, which runs again.
              (error as { code?: string }).code === '40P01'
            throw error
          }
        })
        ;(saved as (() => void) | null)?.()
        return result
      } catch (error) {
        if (!conflicted || attempt >= 5) throw error
        await this.keyring.reload(this.pool)
      }
    }
  }

  /**
   * A read whose rows may name a data key this node has not loaded (another node made the tenant's
   * first key, or rotated): the keyring is reloaded once and the read runs again.
   */
  private async opening<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read()
    } catch (error) {
      if (!isCollabError(error) || error.code !== ErrorCode.UnknownDataKey) throw error
      await this.keyring.reload(this.pool)
      return read()
    }
  }

  private async query<R extends pg.QueryResultRow>(label: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values)
    } catch (error) {
      throw persistenceFailed(label, error)
    }
  }
}

const putNotification = (client: pg.PoolClient, sealer: RowSealer, notification: Notification) =>
  client.query(
    `INSERT INTO notifications (tenant, user_id, id, notification) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant, user_id, id) DO UPDATE SET notification = EXCLUDED.notification`,
    [notification.tenant, notification.userId, notification.id, sealer.sealJson(notificationLocation(notification.tenant, notification.userId, notification.id), notification)],
  )


const bytesOf = (buffer: Buffer): Uint8Array => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)

const putStateVector = (client: pg.PoolClient, sealer: RowSealer, document: string, clock: number, stateVector: Uint8Array) =>
  client.query(
    `INSERT INTO document_state_vectors (document, clock, state_vector) VALUES ($1, $2, $3)
     ON CONFLICT (document) DO UPDATE SET clock = EXCLUDED.clock, state_vector = EXCLUDED.state_vector`,
    [document, clock, sealer.sealBytes(stateVectorLocation(document, clock), stateVector)],
  )

/** Documents whose next clock a store notes at most (a document loaded again past it reads its clock once). */
const MAX_NOTED_CLOCKS = 100_000

/** What a refused statement asks of the writer (see `refusalOf`). */
type Refusal = 'stale' | 'keyring' | 'clock' | 'deadlock'

/**
 * A write statement's failure, by its SQLSTATE: one of its checks (batchStatement.ts `REFUSED`),
 * the update's clock committed by another writer since the statement's snapshot (its primary
 * key), or a deadlock PostgreSQL ended; null: a failure the write cannot cure by running again.
 */
const refusalOf = (error: unknown): Refusal | null => {
  const { code, constraint } = error as { code?: string; constraint?: string }
  if (code === REFUSED.staleEpoch) return 'stale'
  if (code === REFUSED.keyGeneration) return 'keyring'
  if (code === REFUSED.clockTaken || (code === '23505' && constraint === 'document_updates_pkey')) return 'clock'
  if (code === '40P01') return 'deadlock'
  return null
}

interface EventRow {
  seq: string
  at: string
  user_id: string
  device: string | null
  outcome: EventRecord['outcome']
  applied: boolean
  rule_ids: string[]
  paths: string[]
  update: Buffer
  refused_bytes: number | null
  refused_sha256: string | null
  review_id: string | null
  user_name: string | null
}

const eventOf = (sealer: RowSealer, document: string, row: EventRow): EventRecord => {
  if (!sealer.encrypted) return plainEventOf(row)
  const event = decodeEvent(sealer.openBytes(eventLocation(document, row.seq), bytesOf(row.update)))
  return { ...event, seq: Number(row.seq) }
}

const plainEventOf = (row: EventRow): EventRecord => ({
  seq: Number(row.seq),
  at: Number(row.at),
  userId: row.user_id,
  ...(row.user_name !== null && row.user_name !== undefined ? { userName: row.user_name } : {}),
  device: row.device,
  outcome: row.outcome,
  applied: row.applied,
  ruleIds: row.rule_ids,
  paths: row.paths,
  update: new Uint8Array(row.update),
  ...(row.refused_bytes !== null && row.refused_sha256 !== null ? { refused: { bytes: row.refused_bytes, sha256: row.refused_sha256 } } : {}),
  ...(row.review_id !== null ? { reviewId: row.review_id } : {}),
})

