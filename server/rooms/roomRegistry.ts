import { CloseCode, formatCloseReason } from '../../shared/closeCodes.ts'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import type { DocumentOwnership } from '../cluster/documentOwnership.ts'
import type { Logger } from '../observability/logger.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { DocumentName } from '../../shared/documentName.ts'
import { handleFrame } from '../protocol/frameHandler.ts'
import type { Peer } from '../connection/peer.ts'
import { Room, type RoomOptions } from './room.ts'
import type { DocumentIndex } from '../persistence/documentIndex.ts'
import type { CollabMetrics } from '../observability/metrics.ts'

export interface RoomRegistryOptions {
  readonly store: DocumentStorage
  readonly logger: Logger
  readonly roomUnloadGraceMs: number
  readonly compactAfterUpdates: number
  readonly maxDocumentBytes: number
  readonly index: DocumentIndex
  readonly validationGate: boolean
  readonly maxRichTextDepth: number
  readonly eventRetentionMs: number
  readonly metrics: CollabMetrics
  /** Cluster mode: each room takes its document's lease before loading it; null on one node. */
  readonly ownership?: DocumentOwnership | null
  /** Told of every batch a room commits (the document summaries). */
  readonly afterCommit?: RoomOptions['afterCommit']
}

/**
 * The loaded rooms, keyed by tenant and document name. Creates a room (and starts loading it) on
 * the first join, and unloads it a grace period after its last peer left, once its writes are durable.
 */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>()
  private readonly unloadTimers = new Map<Room, NodeJS.Timeout>()
  /** What every room is made with: one object for all rooms, not one (with two closures) per room. */
  private readonly roomOptions: RoomOptions

  constructor(private readonly options: RoomRegistryOptions) {
    this.roomOptions = {
      store: options.store,
      logger: options.logger,
      compactAfterUpdates: options.compactAfterUpdates,
      maxDocumentBytes: options.maxDocumentBytes,
      index: options.index,
      validationGate: options.validationGate,
      maxRichTextDepth: options.maxRichTextDepth,
      eventRetentionMs: options.eventRetentionMs,
      metrics: options.metrics,
      handleFrame,
      onIdle: (idle) => this.scheduleUnload(idle),
      onClosing: (closing) => this.forget(closing),
      ownership: options.ownership ?? null,
      afterCommit: options.afterCommit ?? null,
    }
  }

  get size(): number {
    return this.rooms.size
  }

  /** The loaded room of a document, if any (for tests, metrics and the admin API). */
  find(tenant: string, name: string): Room | undefined {
    return this.rooms.get(`${tenant}/${name}`)
  }

  /** True while the document (`<tenant>/<type>/<id>`) is loaded here. */
  holds(storageName: string): boolean {
    return this.rooms.has(storageName)
  }

  all(): IterableIterator<Room> {
    return this.rooms.values()
  }

  join(tenant: string, document: DocumentName, peer: Peer): Room {
    const key = `${tenant}/${document.name}`
    let room = this.rooms.get(key)
    if (!room) {
      room = this.create(key, tenant, document)
    }
    this.cancelUnload(room)
    room.join(peer)
    return room
  }

  /**
   * The room of a document for the server's own use (admin API, review decisions), loaded if it
   * was not. Call `release` afterwards so a room nobody is connected to gets unloaded again.
   */
  async open(tenant: string, document: DocumentName): Promise<Room> {
    const room = this.kept(tenant, document)
    await room.whenReady()
    return room
  }

  /**
   * Cluster mode: the room of a document once it has taken the document's lease (made and loading
   * if there was none), so that a client joins only a room whose load cannot fail for want of the
   * lease. Rejects with the load's error: ERR_DOCUMENT_MOVED when another node took the document
   * first (its client is then forwarded there, not closed). Join a peer afterwards or call `release`.
   */
  async whenTaken(tenant: string, document: DocumentName): Promise<Room> {
    const room = this.kept(tenant, document)
    await room.whenTaken()
    return room
  }

  /** The document's room, made (and loading) if there was none, not to be unloaded meanwhile. */
  private kept(tenant: string, document: DocumentName): Room {
    const key = `${tenant}/${document.name}`
    const room = this.rooms.get(key) ?? this.create(key, tenant, document)
    this.cancelUnload(room)
    return room
  }

  release(room: Room): void {
    // Still loading (given up by a caller of whenTaken): let go of it once loaded.
    if (room.state === 'loading') void room.whenReady().then(() => this.release(room), () => {})
    else if (room.peers.size === 0 && room.state === 'ready') this.scheduleUnload(room)
  }

  /** Waits until every room's writes are durable, then closes all peers (server shutdown). */
  async closeAll(code: number, reason: string): Promise<void> {
    for (const timer of this.unloadTimers.values()) clearTimeout(timer)
    this.unloadTimers.clear()
    const rooms = [...this.rooms.values()]
    await Promise.all(rooms.map((room) => room.commits.drain()))
    for (const room of rooms) room.close(code, reason)
    this.rooms.clear()
  }

  private create(key: string, tenant: string, document: DocumentName): Room {
    const room: Room = new Room(tenant, document, this.roomOptions)
    this.rooms.set(key, room)
    room.load().catch((error: unknown) => {
      // Cluster mode: another node owns it (it won the race for a new document: expected), or
      // Redis cannot be asked who does.
      const taken = isCollabError(error) && error.code === ErrorCode.DocumentMoved
      const moved = taken || (isCollabError(error) && error.code === ErrorCode.LeaseUnavailable)
      if (taken) room.logger.info({ reason: (error as Error).message }, 'another node took the document first')
      else if (moved) room.logger.warn({ err: error }, 'could not take the document: Redis did not answer')
      else room.logger.error({ err: error }, 'loading failed')
      room.failedToLoad(error)
      this.forget(room)
      // Clients wait for whenTaken before joining in cluster mode (and are forwarded to the owner
      // on failure), so this closes only a peer that joined otherwise: a retryable close, its
      // reconnect is forwarded to the owner (or takes the document once the lease is free).
      if (moved) room.close(CloseCode.DocumentMoved, formatCloseReason(ErrorCode.DocumentMoved, 'the document is served by another server; reconnect'))
      else room.close(CloseCode.PersistenceFailed, formatCloseReason(ErrorCode.PersistenceFailed, 'could not load the document'))
    })
    return room
  }

  private scheduleUnload(room: Room): void {
    if (this.unloadTimers.has(room)) return
    const timer = setTimeout(() => {
      this.unloadTimers.delete(room)
      room
        .unload()
        .then((unloaded) => unloaded && room.logger.debug('unloaded'))
        .catch((error: unknown) => room.logger.error({ err: error }, 'unload failed'))
    }, this.options.roomUnloadGraceMs)
    timer.unref()
    this.unloadTimers.set(room, timer)
  }

  private cancelUnload(room: Room): void {
    const timer = this.unloadTimers.get(room)
    if (timer) clearTimeout(timer)
    this.unloadTimers.delete(room)
  }

  private forget(room: Room): void {
    this.cancelUnload(room)
    const key = `${room.tenant}/${room.document.name}`
    if (this.rooms.get(key) === room) this.rooms.delete(key)
  }
}
