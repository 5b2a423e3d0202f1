import type * as Y from 'yjs'
import { AwarenessRelay } from '../protocol/awarenessRelay.ts'
import { encodeAwareness, encodeSyncStep1FromStateVector } from '../protocol/protocol.ts'
import type { Logger } from '../observability/logger.ts'
import type { CollabMetrics } from '../observability/metrics.ts'
import { buildDoc } from '../persistence/storedDoc.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { DocumentIndex } from '../persistence/documentIndex.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { DocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { CloseCode, formatCloseReason } from '../../shared/closeCodes.ts'
import { encodeAck } from '../../shared/extensionProtocol.ts'
import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { PendingReviews } from '../reviews/pendingReviews.ts'
import { greetWithPendingReviews, tellPendingReviewsChanged } from '../reviews/pendingReviewList.ts'
import { ClientOwners, type OwnerClaim } from '../gate/clientOwnership.ts'
import { showOpenConflicts } from '../gate/conflictNotices.ts'
import { GATE_ORIGIN } from '../gate/compensation.ts'
import { moveLegacyTextFieldsOnLoad } from '../gate/legacyTextFields.ts'
import type { Peer } from '../connection/peer.ts'
import type { DocumentOwnership, HeldDocument } from '../cluster/documentOwnership.ts'
import type { OwnershipLoss } from '../cluster/clusterMetrics.ts'
import { GroupCommit, type CommittedBatch, type GroupCommitOwner, type PendingWrite } from './groupCommit.ts'
import { DocResidency } from './docResidency.ts'
import { answerSyncRequestsFromDisk, type HandshakeRoom, type WaitingFrames } from './handshakeFromDisk.ts'
import { readStoredRoomState, loadClientOwners } from './roomLoad.ts'
import { broadcastBatch, mergeBatch, takeMergedBatch, type BroadcastRoom } from './batchBroadcast.ts'
import { CompactionPolicy } from './compactionPolicy.ts'
import { OpenConflicts } from '../gate/openConflicts.ts'
import { BacklogPause } from './backlogPause.ts'
import { assertMayWrite, ownershipLostBy, takeDocument } from './roomOwnership.ts'
import { applyPeerAwareness, awarenessChangeMessage } from './roomAwareness.ts'
import { deferred } from './deferred.ts'

/** A write of this room: the update with the event-log records and review items that describe it. */
export interface RoomWrite extends PendingWrite<Peer> {
  readonly events: readonly EventRecord[]
  readonly reviews: readonly ReviewItem[]
  readonly conflicts: readonly ConflictRecord[]
  /** Client ids this write is the first to write under (stored with it: ownership is as durable as the structs). */
  readonly owners: readonly OwnerClaim[]
}

export type RoomState = 'loading' | 'ready' | 'reloading' | 'unloading' | 'closed'

/** Where it was defined before: code importing it from here keeps working. */
export { keepIdleDocMs } from './docResidency.ts'

export interface RoomOptions {
  readonly store: DocumentStorage
  readonly logger: Logger
  readonly compactAfterUpdates: number
  /** Largest encoded document accepted (documentSize.ts): every document fits a fresh joiner's send buffer. */
  readonly maxDocumentBytes: number
  /** Run the validation gate (rules + compensation) on every update; off only to measure its cost. */
  readonly validationGate: boolean
  /** Deepest nesting of shared types an update may create (the write path refuses deeper). */
  readonly maxRichTextDepth: number
  readonly metrics: CollabMetrics
  /** Event-log history kept, in ms (retention). */
  readonly eventRetentionMs: number
  /** Which documents exist (cross-reference checks); the room adds itself on its first durable write. */
  readonly index: DocumentIndex
  /** Handles one frame of a peer once the room is ready (the frame handler / write path). */
  readonly handleFrame: (room: Room, peer: Peer, frame: Uint8Array) => void
  /** The room has no peers left and nothing to write: the registry may drop it. */
  readonly onIdle: (room: Room) => void
  /** The room is closing (unloaded, or discarded after a failed write): the registry must forget it now. */
  readonly onClosing: (room: Room) => void
  /** Cluster mode: how the room becomes its document's only writer before loading it; null on one node. */
  readonly ownership: DocumentOwnership | null
  /** Told of every batch once durable (the document list's summaries follow the document). */
  readonly afterCommit?: ((room: Room, writes: readonly RoomWrite[]) => void) | null
}

/**
 * One loaded document and the peers editing it. A room owns the lifecycle of its Y.Doc: it is
 * loaded from disk before any peer is answered, frames that arrive meanwhile wait in order, and
 * it is reloaded from disk when an apply failed half-way. Frames of one room are handled strictly
 * in arrival order; rooms are independent of each other.
 *
 * The class is the façade the server codes against; each concept is its own module: where the doc
 * lives (`docResidency.ts`), what a load reads (`roomLoad.ts`), answering joiners from the stored
 * bytes (`handshakeFromDisk.ts`), a batch's broadcast (`batchBroadcast.ts`), when to compact
 * (`compactionPolicy.ts`), pausing readers for the store (`backlogPause.ts`), taking and losing
 * the document (`roomOwnership.ts`), awareness (`roomAwareness.ts`). The room keeps the state
 * machine (loading, ready, reloading, unloading, closed), the frame order and the write/ack cycle.
 */
export class Room implements GroupCommitOwner<RoomWrite>, HandshakeRoom, BroadcastRoom {
  state: RoomState = 'loading'
  /** The document: a Y.Doc while used, its encoded state while idle, with a bound of its size. */
  private readonly residency = new DocResidency()
  /** Awareness is independent of the content doc: it must survive a reload of it. */
  readonly awareness = new AwarenessRelay<Peer>()
  readonly peers = new Set<Peer>()
  readonly commits: GroupCommit<RoomWrite>
  private ownLogger: Logger | null = null
  /** Frames that arrived while the room was loading or reloading, in arrival order. */
  private waiting: WaitingFrames | null = null
  /** Made only for a caller of whenReady before the room has loaded (the registry's `open`). */
  private ready: ReturnType<typeof deferred> | null = null
  /** Made only for a caller of whenTaken before the room has taken its document (the upgrade handler, cluster mode). */
  private taking: ReturnType<typeof deferred> | null = null
  /** Took its document (cluster mode: the lease and epoch; on one node: the store's claim). */
  private taken = false
  /** Loaded at least once (whenReady resolves), or why loading failed. */
  private loaded = false
  private loadError: { error: unknown } | null = null
  /** The last event-log sequence number handed out (persisted or queued). */
  private lastEventSeq = 0
  private readonly compaction: CompactionPolicy
  /** Pauses reading from the peers while the store's backlog is full. */
  private readonly backlogPause = new BacklogPause(this)
  /** Cluster mode: the document's lease and epoch while this room is its owner. */
  private held: HeldDocument | null = null

  constructor(
    readonly tenant: string,
    readonly document: DocumentName,
    private readonly options: RoomOptions,
  ) {
    this.commits = new GroupCommit<RoomWrite>(this)
    this.compaction = new CompactionPolicy(this, options.compactAfterUpdates)
  }

  /**
   * The document. One the room let go while idle is built again from its encoded state here, when
   * something needs it (a change, a rule, the admin API): synchronously, so frames keep their order.
   */
  get doc(): Y.Doc {
    return this.residency.doc
  }

  /** An upper bound of the document's encoded size (see documentSize.ts), without encoding it. */
  get encodedSizeBound(): number {
    return this.residency.encodedSizeBound
  }

  /** How many bytes the bound may be above the exact size: what was added since it was measured. */
  get encodedSizeSlack(): number {
    return this.residency.encodedSizeSlack
  }

  /** The document's encoded size, exactly (cost ∝ the document): the bound becomes exact. */
  measureEncodedSize(): number {
    return this.residency.measureEncodedSize()
  }

  get maxDocumentBytes(): number {
    return this.options.maxDocumentBytes
  }

  /** Is the document held as a Y.Doc (false: let go while idle, or not loaded)? */
  get holdsDoc(): boolean {
    return this.residency.holdsDoc
  }

  /** The document's state vector, without building a let-go doc again. */
  stateVector(): Uint8Array {
    return this.residency.stateVector()
  }

  /**
   * The answer to a sync step 1 (what a replica with that state vector lacks), without building a
   * let-go doc again (a peer joining an idle document). Throws on a malformed state vector.
   */
  syncStep2For(stateVector: Uint8Array): Uint8Array {
    return this.residency.syncStep2For(stateVector)
  }

  /**
   * Called by the server's sweep: a document nobody used (read `doc`: changes, rules, server
   * changes, the admin API) for `keepIdleDocMs` of its size, with every write durable, is let go
   * and only its encoded state kept (peers stay connected; a peer joining is answered from it; the
   * next change builds the doc again).
   */
  letDocGoIfIdle(now: number): void {
    if (this.state !== 'ready' || !this.commits.idle) return
    this.residency.letGoIfIdle(now)
  }

  /** This room's logger, made when first needed: most rooms never log. */
  get logger(): Logger {
    return (this.ownLogger ??= this.options.logger.child({ room: this.storageName }))
  }

  /** Storage keys are prefixed with the tenant, so two tenants never share a document. */
  get storageName(): string {
    return `${this.tenant}/${this.document.name}`
  }

  /** Read after an await (TypeScript keeps a state narrowed before it). */
  private closedMeanwhile(): boolean {
    return this.state === 'closed'
  }

  async load(): Promise<void> {
    this.held = await takeDocument(this.options.ownership, this.options.store, this.storageName, (reason) => this.lostOwnership(reason))
    // Closed while the lease was being taken (shutdown, or the lease lost already): give it up again.
    if (this.state === 'closed') return void this.held?.release()
    this.taken = true
    this.taking?.resolve()
    this.taking = null
    const { updates, stateVector, lastEventSeq, pendingReviews } = await readStoredRoomState(this.options.store, this.tenant, this.document.name, this.storageName)
    if (this.closedMeanwhile()) return // cluster mode: the lease was lost while reading
    this.reviews.load(pendingReviews)
    if (this.waiting) this.waiting = answerSyncRequestsFromDisk(this, this.waiting, updates, stateVector)
    // Only the write path needs the owners: read after the waiting peers were answered, and never
    // for a new document (a range scan costs ~3× the point read that found it new).
    if (updates.length > 0) {
      await loadClientOwners(this.options.store, this.storageName, lastEventSeq, this.clientOwners, this.logger)
      if (this.closedMeanwhile()) return
    }
    this.lastEventSeq = lastEventSeq
    const storedBytes = updates.reduce((size, update) => size + update.byteLength, 0)
    this.residency.adopt(buildDoc(updates), storedBytes)
    this.compaction.loaded(updates.length, storedBytes)
    moveLegacyTextFieldsOnLoad(this)
    this.becomeReady()
    this.compaction.maybeCompact()
    if (lastEventSeq > 0) void this.pruneEventLog() // a new document has no history to prune
  }

  /**
   * Retention: fold events older than the retention period into the log's base. Runs on the store's
   * chain for this document, so it never interleaves with this room's writes.
   */
  async pruneEventLog(): Promise<void> {
    try {
      const pruned = await this.options.store.pruneEvents(this.storageName, Date.now() - this.options.eventRetentionMs)
      if (pruned > 0) this.logger.info({ pruned }, 'event log pruned (retention)')
    } catch (error) {
      this.logger.error({ err: error }, 'event log pruning failed')
    }
  }

  join(peer: Peer): void {
    // A joiner is not paused here: its sync step 1 must be answered even while writers wait.
    this.peers.add(peer)
    void showOpenConflicts(this, [peer])
    if (this.state === 'unloading') this.state = 'ready'
    if (this.state === 'ready') this.greet(peer)
    else (this.waiting ??= []).push({ peer, frame: null })
  }

  receive(peer: Peer, frame: Uint8Array): void {
    if (this.state === 'ready') this.handle(peer, frame)
    else if (this.state === 'loading' || this.state === 'reloading') (this.waiting ??= []).push({ peer, frame })
  }

  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return
    this.broadcastAwareness(this.awareness.removeOwnedBy(peer))
    if (this.peers.size === 0 && this.state === 'ready') this.becameIdle()
  }

  /**
   * Y.applyUpdate threw half-way: the in-memory doc may hold part of the bad update. Everything
   * accepted before it is in the write queue, so wait for the queue, then read the doc back.
   */
  async reloadFromDisk(reason: string): Promise<void> {
    if (this.state !== 'ready') return
    this.state = 'reloading'
    this.logger.warn({ reason }, 'reloading room from disk')
    try {
      await this.commits.drain()
      if (this.state !== 'reloading') return
      const { doc, storedUpdates } = await this.options.store.loadDoc(this.storageName)
      this.residency.adopt(doc)
      this.compaction.loaded(storedUpdates, null)
      this.becomeReady()
    } catch (error) {
      this.batchFailed(error, [])
    }
  }

  /**
   * The room's exception boundary. Every refusal the frame handler knows of comes back as a coded
   * error that closes one peer; a throw is a bug, and it must not take the process (every other
   * room, every tenant) with it. What this doc holds after a throw is unknown — part of a change
   * may be in it — so it is read back from disk (after every write queued before the failure is
   * durable), and every peer is closed with a code stock clients retry: their reconnect handshake
   * resyncs them with the reloaded doc and resends what the server lacks.
   */
  private handle(peer: Peer, frame: Uint8Array): void {
    try {
      this.options.handleFrame(this, peer, frame)
    } catch (error) {
      this.logger.error({ err: error, peer: peer.id }, 'handling a frame failed; reloading the room, its peers resync')
      // A room nobody came back to is let go as usual.
      void this.reloadFromDisk('handling a frame failed').then(() => this.peers.size === 0 && this.state === 'ready' && this.becameIdle())
      const reason = formatCloseReason(ErrorCode.RoomFailed, 'the server failed handling a change; reconnect to resync')
      for (const each of [...this.peers]) {
        each.close(CloseCode.InternalError, reason)
        this.leave(each)
      }
    }
  }

  /** Loading failed: peers waiting for the room are told by the registry; callers of whenReady and whenTaken here. */
  failedToLoad(error: unknown): void {
    this.loadError = { error }
    this.ready?.reject(error)
    this.ready = null
    this.taking?.reject(error)
    this.taking = null
  }

  /**
   * True once the room has taken its document and until it closes: from then on its load can no
   * longer fail because another node owns the document, so a peer may join it.
   */
  get tookDocument(): boolean {
    return this.taken && this.state !== 'closed'
  }

  /**
   * Resolves once the room has taken its document (cluster mode: its lease, before it reads it);
   * rejects with the load's error (ERR_DOCUMENT_MOVED: another node took it first).
   */
  whenTaken(): Promise<void> {
    if (this.taken) return Promise.resolve()
    if (this.loadError) return Promise.reject(this.loadError.error)
    return (this.taking ??= deferred()).promise
  }

  /** Called by the registry after the grace period; returns false when a peer came back meanwhile. */
  async unload(): Promise<boolean> {
    if (this.state !== 'ready' || this.peers.size > 0) return false
    this.state = 'unloading'
    await this.commits.drain()
    // A peer that joined during the drain flipped the state back to ready and keeps the room.
    if (this.state !== 'unloading' || this.peers.size > 0) return false
    this.options.onClosing(this)
    this.close()
    return true
  }

  /** Closes all peers and releases the doc (server shutdown or discard). */
  close(code: number = CloseCode.GoingAway, reason = ''): void {
    this.state = 'closed'
    // Only a shutdown closes a room before it took its document (the lease is being taken).
    this.taking?.reject(new CollabError(ErrorCode.ShuttingDown, 'server is shutting down'))
    this.taking = null
    this.backlogPause.cancel()
    for (const peer of this.peers) peer.close(code, reason)
    this.peers.clear()
    this.waiting = null
    this.residency.destroy()
    this.reviews.dispose()
    this.options.store.release(this.storageName)
    void this.held?.release()
  }

  /**
   * Cluster mode: the lease lapsed or another node took the document (or the store refused this
   * node's epoch). From now on another node may be writing it: nothing more is written,
   * acknowledged or broadcast here; the peers are closed with a code stock clients reconnect
   * after, and their next connection reaches the new owner, which has (or gets, by their resync)
   * everything they sent.
   */
  private lostOwnership(reason: OwnershipLoss): void {
    if (this.state === 'closed') return
    this.logger.warn({ reason }, 'this node no longer owns the document; closing its peers')
    this.options.onClosing(this)
    this.close(CloseCode.DocumentMoved, formatCloseReason(ErrorCode.DocumentMoved, 'another server owns this document now; reconnect'))
  }

  /**
   * Queues an accepted update for the group commit. A burst must not outrun the store: when the
   * store's backlog is full, stop reading from this room's sockets (TCP pushes back on the
   * senders) until it has drained.
   */
  persist(write: {
    update: Uint8Array | null
    source: Peer | null
    echo?: Uint8Array | null
    events?: readonly EventRecord[]
    reviews?: readonly ReviewItem[]
    conflicts?: readonly ConflictRecord[]
    owners?: readonly OwnerClaim[]
  }): void {
    const { source } = write
    if (write.update) this.residency.grew(write.update.byteLength)
    this.commits.enqueue({
      events: [],
      reviews: [],
      conflicts: [],
      owners: [],
      ...write,
      sequence: source ? source.updatesReceived : 0,
      receivedAt: performance.now(),
    })
    // A writer whose update arrives while paused is paused too (one that joined meanwhile).
    if (this.readingPaused && source) source.pauseReading()
    this.backlogPause.pauseIfStoreBehind()
  }

  /** True while the store's backlog is full and this room does not read from its peers' sockets. */
  get readingPaused(): boolean {
    return this.backlogPause.paused
  }

  /** The store, for what belongs to the document besides its content (conflict records). */
  get store(): DocumentStorage {
    return this.options.store
  }

  get metrics(): CollabMetrics {
    return this.options.metrics
  }

  get validationGate(): boolean {
    return this.options.validationGate
  }

  get maxRichTextDepth(): number {
    return this.options.maxRichTextDepth
  }

  /**
   * Who owns each Yjs client id of the document (its first writer; loaded with it, claims stored
   * with the writes that make them). Its users also name both sides of a conflict.
   */
  readonly clientOwners = new ClientOwners()
  /** The document's review items still pending, for merging held edits and showing held values. */
  readonly reviews = new PendingReviews((item) => tellPendingReviewsChanged(this.reviews, this.peers, item))
  /** Conflicts found since the room loaded (the stored list is the record; this is for metrics). */
  conflictCount = 0
  private ownOpenConflicts: OpenConflicts | null = null

  /** The open conflicts of the document by user, read once until one is stored; made when first asked (most rooms never are). */
  get openConflicts(): OpenConflicts {
    return (this.ownOpenConflicts ??= new OpenConflicts(() => this.options.store.listConflicts(this.storageName)))
  }

  /** A conflict of this document was stored (found, or dismissed): the open ones are read again when next asked. */
  conflictsChanged(): void {
    this.ownOpenConflicts?.changed()
  }

  /** The next event-log sequence number (assigned in write order, so the log is gap-free). */
  nextEventSeq(): number {
    return ++this.lastEventSeq
  }

  /** Does another document of this room's tenant exist (`<type>/<id>`)? Synchronous, for rules. */
  documentExists(name: string): boolean {
    return this.options.index.has(`${this.tenant}/${name}`)
  }

  /** Sends a message to every peer of the room except `except`. */
  broadcast(message: Uint8Array, except?: Peer): void {
    for (const peer of this.peers) if (peer !== except) peer.send(message)
  }

  /** Resolves once the room has loaded (rejects if loading failed). */
  whenReady(): Promise<void> {
    if (this.loaded) return Promise.resolve()
    if (this.loadError) return Promise.reject(this.loadError.error)
    return (this.ready ??= deferred()).promise
  }

  /**
   * A change by the server itself (a review approval, an admin repair), in the room's order:
   * applied with the gate's origin, persisted with its event record (and any review item) in one
   * write, broadcast to every peer once durable. Resolves when it is durable.
   */
  async applyServerChange(
    change: (doc: Y.Doc) => void,
    record: (update: Uint8Array) => { events: EventRecord[]; reviews: ReviewItem[] },
  ): Promise<void> {
    if (this.state !== 'ready') throw new Error(`room ${this.storageName} is ${this.state}`)
    let update: Uint8Array | null = null
    const capture = (bytes: Uint8Array, origin: unknown) => {
      if (origin === GATE_ORIGIN) update = bytes
    }
    this.doc.on('update', capture)
    try {
      this.doc.transact(() => change(this.doc), GATE_ORIGIN)
    } finally {
      this.doc.off('update', capture)
    }
    const owners = update ? this.clientOwners.serverClaim(this.doc) : []
    this.persist({ update, source: null, owners, ...record(update ?? new Uint8Array()) })
    await this.commits.drain()
  }

  private becomeReady(): void {
    this.state = 'ready'
    this.loaded = true
    this.ready?.resolve()
    this.ready = null
    const waiting = this.waiting
    this.waiting = null
    if (!waiting) return
    for (const { peer, frame } of waiting) {
      if (!this.peers.has(peer)) continue
      if (frame === null) this.greet(peer)
      else if (this.state === 'ready') this.handle(peer, frame)
      else (this.waiting ??= []).push({ peer, frame }) // a frame above started another reload: keep order
    }
  }

  /** A peer answered from disk gets what a greeting sends besides the handshake (awareness cannot have changed yet). */
  afterHandshake(peer: Peer): void {
    greetWithPendingReviews(this.reviews, peer)
  }

  /** The server's half of the sync handshake, sent only once the doc is loaded. */
  private greet(peer: Peer): void {
    peer.send(encodeSyncStep1FromStateVector(this.stateVector()))
    const clients = this.awareness.clients()
    if (clients.length > 0) peer.send(encodeAwareness(this.awareness.encode(clients)))
    greetWithPendingReviews(this.reviews, peer)
  }

  /**
   * One atomic write per batch: the merged update, its event records and review items, and the
   * document's state vector with it (so a cold load need not compute it). Called by `commits`.
   */
  async writeBatch(writes: readonly RoomWrite[], durableStateVector: Uint8Array): Promise<void> {
    assertMayWrite(this.held)
    const merged = mergeBatch(writes)
    const stopTimer = this.options.metrics.writeSeconds.startTimer()
    await this.options.store.appendBatch(this.storageName, {
      update: merged,
      ...(merged ? { stateVector: durableStateVector } : {}),
      events: writes.flatMap((write) => write.events),
      reviews: writes.flatMap((write) => write.reviews),
      conflicts: writes.flatMap((write) => write.conflicts),
      owners: writes.flatMap((write) => write.owners),
    })
    stopTimer()
  }

  /** The state vector `commits` stores with a batch it cuts. */
  currentStateVector(): Uint8Array {
    return this.stateVector()
  }

  /** Durable (told by `commits`): now other peers may see the updates, and their senders learn they are saved. */
  batchCommitted({ writes, durableStateVector }: CommittedBatch<RoomWrite>): void {
    // Closed meanwhile (cluster mode: the lease was lost during the write): durable, but this node
    // speaks for the document no more; the peers' reconnect brings them whatever they lack.
    if (this.state === 'closed') return
    // Writes are in order, so the last sequence number of a peer in the batch covers all its earlier ones.
    const durableMessages = new Map<Peer, number>()
    const now = performance.now()
    for (const write of writes) if (write.source) this.options.metrics.syncLatency.observe((now - write.receivedAt) / 1000)
    const merged = takeMergedBatch(writes)
    broadcastBatch(this, writes, merged)
    for (const { source, sequence } of writes) if (source?.wantsExtensions) durableMessages.set(source, sequence)
    if (writes.some((write) => write.update)) this.options.index.add(this.storageName)
    this.options.afterCommit?.(this, writes)
    for (const [peer, count] of durableMessages) peer.send(encodeAck(durableStateVector, count))
    this.backlogPause.pauseIfStoreBehind()
    if (writes.some((write) => write.conflicts.length > 0)) this.conflictsChanged()
    this.compaction.stored(writes.some((write) => write.update), merged?.byteLength ?? 0)
    // With nothing else queued the doc is exactly what is stored (see becameIdle).
    this.compaction.maybeCompact(() => (this.commits.idle ? this.residency.encodedState() : null))
    if (this.peers.size === 0 && this.state === 'ready') this.becameIdle()
  }

  /**
   * Nobody is connected: the registry may unload the room after its grace period. Once every write
   * is durable the document is also stored as one update (with its state vector), so the next cold
   * load reads one record and can send it as it is. The room's doc is exactly what is stored then,
   * so it is encoded directly instead of being rebuilt from the stored updates.
   */
  private becameIdle(): void {
    this.options.onIdle(this)
    if (!this.compaction.worthCompacting || !this.commits.idle) return
    const state = this.residency.encodedState()
    if (state) this.compaction.compact(state)
  }

  /**
   * Compacts the document now (an admin asked), in the room's order and under its claim on the
   * document (cluster mode: its lease and epoch), so a compaction is never written by a node that
   * does not own the document. Resolves with the merged size, null when there was nothing to merge.
   */
  compactNow(): Promise<number | null> {
    return this.compaction.compactNow()
  }

  /** A write failed (told by `commits`): nothing in memory beyond the disk may be acknowledged. Drop the room. */
  batchFailed(error: unknown, lost: readonly RoomWrite[]): void {
    if (this.state === 'closed') return
    const loss = ownershipLostBy(this.held, error)
    if (loss) return this.lostOwnership(loss)
    this.options.metrics.persistenceErrors.inc()
    this.logger.error({ err: error, lostUpdates: lost.length }, 'write failed; discarding room')
    this.options.onClosing(this)
    const reason = formatCloseReason(ErrorCode.PersistenceFailed, 'could not store your changes; reconnect to resend')
    this.close(CloseCode.PersistenceFailed, reason)
  }

  /** An awareness update from a peer (checked by the frame handler): what changed goes to every peer. */
  receiveAwareness(peer: Peer, update: Uint8Array): void {
    this.broadcastAwareness(applyPeerAwareness(this.awareness, this.clientOwners, peer, update))
  }

  /** Drops awareness states nobody renewed in time (called by the server's sweep for all rooms). */
  expireAwareness(now: number): void {
    this.broadcastAwareness(this.awareness.expire(now))
  }

  private broadcastAwareness(changed: readonly number[]): void {
    const message = awarenessChangeMessage(this.awareness, changed)
    if (message) this.broadcast(message)
  }
}
