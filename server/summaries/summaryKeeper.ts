import { randomUUID } from 'node:crypto'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { isDocumentType, type DocumentType } from '../../shared/documentName.ts'
import type { Logger } from '../observability/logger.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import { notificationId, type Notification } from '../notifications/notification.ts'
import { SERVER_USER } from '../gate/compensation.ts'
import type { Room, RoomWrite } from '../rooms/room.ts'
import { summarizeContent, type Summary } from './summary.ts'
import { SummaryIndex } from './summaryIndex.ts'
import type { SummaryStorage, TenantSummary } from './summaryStorage.ts'

export interface SummaryKeeperOptions {
  /** Changed summaries are stored at most once per this many ms (a burst of edits writes one). */
  readonly flushMs: number
  /** Documents summarized at once by the background rebuild at start. */
  readonly rebuildConcurrency?: number
}

/** The admin events that archive and unarchive a document (rule ids of `admin` events in its log). */
export const ARCHIVE_RULE = 'archive'
export const UNARCHIVE_RULE = 'unarchive'

/** Events a rebuild reads to find the last change and an archive it missed: the log's tail, bounded. */
const REBUILD_EVENT_WINDOW = 1_000
/** Summaries per store write. */
const WRITE_CHUNK = 500

/**
 * Keeps every document's summary current, so the list never loads a document:
 *
 * - after each batch a room commits (`committed`, one line in the room), the summary is taken
 *   from the room's document as it is in memory (a few map reads and the title) and put in the
 *   index at once; the store is written at most once per `flushMs` for all changed documents;
 * - at start the stored summaries are read into the index, and documents with none (stored before
 *   summaries existed, or whose last write a crash cut off before its summary was stored: its
 *   event log is ahead of the summary) are summarized in the background, a few at a time;
 * - when a proposal's team gains a user, that user gets a lasting notification.
 */
export class SummaryKeeper {
  readonly index = new SummaryIndex()
  private readonly dirty = new Map<string, TenantSummary>()
  private readonly timer: NodeJS.Timeout
  /** Documents the background rebuild has yet to summarize (their first summary must not notify anyone). */
  private readonly unsummarized = new Set<string>()
  private rebuilding: Promise<void> = Promise.resolve()
  private flushing: Promise<void> = Promise.resolve()
  private closed = false
  private refreshedAt = -Infinity
  private refreshing: Promise<void> = Promise.resolve()

  private constructor(
    private readonly storage: SummaryStorage,
    private readonly store: DocumentStorage,
    private readonly logger: Logger,
    private readonly options: SummaryKeeperOptions,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs)
    this.timer.unref()
  }

  /** Reads the stored summaries and starts summarizing the documents (storage names) that lack a current one. */
  static async open(storage: SummaryStorage, store: DocumentStorage, documents: readonly string[], logger: Logger, options: SummaryKeeperOptions): Promise<SummaryKeeper> {
    const keeper = new SummaryKeeper(storage, store, logger, options)
    for (const { tenant, summary } of await storage.readAll()) keeper.index.put(tenant, summary)
    const missing: string[] = []
    const present: string[] = []
    for (const storageName of documents) {
      const { tenant, name } = split(storageName)
      if (!isDocumentType(name.split('/')[0] ?? '')) continue
      if (keeper.index.get(tenant, name)) present.push(storageName)
      else {
        missing.push(storageName)
        keeper.unsummarized.add(storageName)
      }
    }
    keeper.rebuilding = keeper.rebuild([...missing, ...present])
    return keeper
  }

  /** Resolves once the background rebuild started at open is done (tests, the bench). */
  whenRebuilt(): Promise<void> {
    return this.rebuilding
  }

  /** A room committed a batch: its document's summary follows the document (called by the room). */
  committed(room: Room, writes: readonly RoomWrite[]): void {
    if (this.closed) return
    // Called while the room acknowledges the batch: a summary that cannot be made must not stop that.
    try {
      this.follow(room, writes)
    } catch (error) {
      this.logger.error({ err: error, document: room.storageName }, 'summarizing a document failed; it is summarized again at its next change')
    }
  }

  private follow(room: Room, writes: readonly RoomWrite[]): void {
    const { tenant, storageName } = room
    const name = room.document.name
    const previous = this.index.get(tenant, name)
    const seq = Math.max(previous?.seq ?? 0, ...writes.flatMap((write) => write.events.map((event) => event.seq)))
    const changing = lastOf(writes, (write) => write.update !== null)
    if (!changing) {
      // Events only (a viewer's refused write, an archive): the summary is still current with the log.
      if (previous && seq > previous.seq) this.put(tenant, { ...previous, seq })
      return
    }
    const content = summarizeContent(room.doc, room.document.type)
    const by = changing.source?.identity.userId ?? changing.events.find((event) => event.outcome !== 'compensation')?.userId ?? SERVER_USER
    const summary: Summary = {
      name,
      type: room.document.type,
      ...content,
      lastChange: { at: Date.now(), userId: by },
      archived: previous?.archived ?? null,
      seq,
    }
    this.put(tenant, summary)
    // A document the rebuild has not reached yet (or listed by name only, cluster mode) has no
    // previous team to compare with: nobody is told.
    const fresh = this.unsummarized.delete(storageName)
    if (fresh || previous?.seq === -1) return
    const added = summary.team.filter((userId) => userId !== by && !(previous?.team ?? []).includes(userId))
    if (added.length > 0) void this.tellAssigned(room, added, by)
  }

  /** Archives or unarchives a document's summary (its `admin` event is in its log already); durable when it resolves. */
  async setArchived(tenant: string, name: string, archived: Summary['archived'], seq: number): Promise<Summary> {
    const previous = this.index.get(tenant, name)
    if (!previous) throw new Error(`${tenant}/${name} has no summary`)
    const summary = { ...previous, archived, seq: Math.max(previous.seq, seq) }
    this.put(tenant, summary)
    // Through the flush chain: an older version of it being written meanwhile is stored first.
    await this.flush()
    if (this.dirty.has(`${tenant}/${name}`)) throw new CollabError(ErrorCode.PersistenceFailed, `the archive state of ${name} could not be stored`)
    return summary
  }

  /**
   * Cluster mode: the summaries other nodes wrote (of the documents they own) are read into the
   * index, at most once per `maxAgeMs` however often the list is asked for. A stored summary
   * replaces the one in memory only when it is current with a later event.
   */
  refresh(maxAgeMs: number): Promise<void> {
    if (performance.now() - this.refreshedAt < maxAgeMs) return this.refreshing
    this.refreshedAt = performance.now()
    this.refreshing = this.storage.readAll().then(
      (stored) => {
        for (const { tenant, summary } of stored) {
          const current = this.index.get(tenant, summary.name)
          if (!current || summary.seq > current.seq) this.index.put(tenant, summary)
        }
      },
      (error: unknown) => this.logger.warn({ err: error }, 'reading the other nodes\' summaries failed'),
    )
    return this.refreshing
  }

  /**
   * Cluster mode: documents of a tenant (`<type>/<id>`) another node created whose summary that
   * node has not stored yet (it flushes once per `flushMs`) are listed meanwhile by name, untitled
   * (sequence -1: any stored summary replaces it). Never stored.
   */
  listUnsummarized(tenant: string, names: readonly string[]): void {
    for (const name of names) {
      const type = name.split('/')[0] ?? ''
      if (!isDocumentType(type) || this.index.get(tenant, name)) continue
      this.index.put(tenant, { name, type, title: '', status: null, owner: null, customerId: null, value: null, currency: null, team: [], lastChange: null, archived: null, seq: -1 })
    }
  }

  /** Stores every summary changed since the last flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.dirty.size === 0) return
      const batch = [...this.dirty.values()]
      this.dirty.clear()
      try {
        for (let start = 0; start < batch.length; start += WRITE_CHUNK) await this.storage.write(batch.slice(start, start + WRITE_CHUNK))
      } catch (error) {
        // Kept for the next flush, unless a newer one replaced it meanwhile.
        for (const entry of batch) {
          const key = `${entry.tenant}/${entry.summary.name}`
          if (!this.dirty.has(key)) this.dirty.set(key, entry)
        }
        this.logger.error({ err: error, summaries: batch.length }, 'storing document summaries failed; retrying at the next flush')
      }
    })
    return this.flushing
  }

  /** Stops the rebuild and stores what changed (before the store closes). */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    await this.rebuilding
    await this.flush()
  }

  private put(tenant: string, summary: Summary): void {
    this.index.put(tenant, summary)
    this.dirty.set(`${tenant}/${summary.name}`, { tenant, summary })
  }

  private async tellAssigned(room: Room, added: readonly string[], by: string): Promise<void> {
    const team = room.doc.getMap<unknown>('team')
    const at = Date.now()
    for (const userId of added) {
      const role = team.get(userId)
      const notification: Notification = {
        id: notificationId(at, randomUUID()),
        tenant: room.tenant,
        userId,
        kind: 'team-assigned',
        at,
        read: false,
        document: room.document.name,
        detail: { role: typeof role === 'string' ? role : '', by },
      }
      try {
        await this.store.writeNotifications(room.tenant, userId, { put: [notification], drop: [] })
      } catch (error) {
        this.logger.error({ err: error, userId, document: room.storageName }, 'storing a team notification failed')
      }
    }
  }

  /** Summarizes, a few at a time, the documents without a summary and those whose log is ahead of theirs. */
  private async rebuild(documents: readonly string[]): Promise<void> {
    let next = 0
    let rebuilt = 0
    const worker = async () => {
      while (next < documents.length && !this.closed) {
        const storageName = documents[next++]!
        try {
          if (await this.rebuildOne(storageName)) rebuilt++
        } catch (error) {
          this.logger.warn({ err: error, document: storageName }, 'summarizing a document failed; it is listed again once it changes')
        } finally {
          this.unsummarized.delete(storageName)
        }
      }
    }
    await Promise.all(Array.from({ length: this.options.rebuildConcurrency ?? 4 }, worker))
    if (rebuilt > 0) this.logger.info({ rebuilt }, 'document summaries rebuilt')
    await this.flush()
  }

  private async rebuildOne(storageName: string): Promise<boolean> {
    const { tenant, name } = split(storageName)
    const previous = this.index.get(tenant, name)
    const lastSeq = await this.store.lastEventSeq(storageName)
    if (previous && previous.seq >= lastSeq) return false
    const type = name.split('/')[0] as DocumentType
    const events = previous
      ? await this.store.readEvents(storageName, { fromSeq: previous.seq + 1, limit: REBUILD_EVENT_WINDOW })
      : (await this.store.readEvents(storageName, { limit: REBUILD_EVENT_WINDOW, reverse: true })).reverse()
    const { doc } = await this.store.loadDoc(storageName)
    let content: ReturnType<typeof summarizeContent>
    try {
      content = summarizeContent(doc, type)
    } finally {
      doc.destroy()
    }
    // A commit summarized it meanwhile, from the document as it is now: that one is newer.
    if (this.index.get(tenant, name) !== previous) return false
    const lastChanged = lastOf(events, changedContent)
    const summary: Summary = {
      name,
      type,
      ...content,
      lastChange: lastChanged ? { at: lastChanged.at, userId: lastChanged.userId } : (previous?.lastChange ?? null),
      archived: archivedAfter(previous?.archived ?? null, events),
      seq: Math.max(lastSeq, events.at(-1)?.seq ?? 0),
    }
    this.put(tenant, summary)
    return true
  }
}

/** An event that changed the document's content (not a refusal, not an archive). */
const changedContent = (event: EventRecord): boolean => event.applied && event.update.byteLength > 0 && event.outcome !== 'rejected'

/** The archived state after `events`, from `archived` before them. */
const archivedAfter = (archived: Summary['archived'], events: readonly EventRecord[]): Summary['archived'] => {
  let state = archived
  for (const event of events) {
    if (event.outcome !== 'admin') continue
    if (event.ruleIds.includes(ARCHIVE_RULE)) state = { at: event.at, by: event.userId }
    else if (event.ruleIds.includes(UNARCHIVE_RULE)) state = null
  }
  return state
}

/** The last element that passes `test` (the library target predates Array.prototype.findLast). */
const lastOf = <T>(items: readonly T[], test: (item: T) => boolean): T | undefined => {
  for (let index = items.length - 1; index >= 0; index--) if (test(items[index]!)) return items[index]
  return undefined
}

const split = (storageName: string): { tenant: string; name: string } => {
  const slash = storageName.indexOf('/')
  return { tenant: storageName.slice(0, slash), name: storageName.slice(slash + 1) }
}
