import type { ConflictRecord } from '../shared/conflictRecord.ts'
import { ObservableV2 } from 'lib0/observable'
import type { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { modelFor, type DocumentModels } from '../shared/documentModel.ts'
import type { DocumentName, DocumentType } from '../shared/documentName.ts'
import type { Notice, PendingReview } from '../shared/extensionProtocol.ts'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import { Connection, type CloseInfo, type ConnectionStatus, type NetworkSignal } from './connection.ts'
import type { LocalDocument, LocalStore } from './localStore.ts'
import { IntegrityCheck } from './integrityCheck.ts'
import { SavedTracker } from './savedTracker.ts'
import type { WebSocketClass } from './outgoingMessages.ts'

export interface DocumentHandleEvents {
  /** The connection status changed (see ConnectionStatus for what each value means). */
  status: (status: ConnectionStatus) => void
  /** `saved` flipped: false after a local change, true once the server acknowledged everything. */
  saved: (saved: boolean) => void
  /** `storedLocally` flipped: false after a change, true once every change so far is in the local store. */
  storedLocally: (stored: boolean) => void
  /** The server told us about one of our changes (rejected, held for review, conflict). */
  notice: (notice: Notice) => void
  /** The changes of this document held for review that this user may see, whole, each time it changes. */
  pendingReviews: (reviews: readonly PendingReview[]) => void
  /** Concurrent overwrites of this user's values, not yet dismissed (the whole list; see shared/conflictRecord.ts). */
  conflicts: (conflicts: readonly ConflictRecord[]) => void
  /** An open connection was closed by the server or the network. */
  closed: (info: CloseInfo) => void
  /**
   * This device's copy turned out to differ from the server's while both hold the same operations
   * (damaged local data: a sync cannot repair that). The handle has disconnected for good and
   * deleted its local copy; open the document again to load the server's. `copy` is the discarded
   * state (a Yjs update), for an app that keeps it for support.
   */
  diverged: (copy: Uint8Array) => void
  /** Something failed that the handle cannot report otherwise: local store writes, getToken, bad messages. */
  error: (error: Error) => void
}

/** Everything a handle is built from: what the platform entry (node.ts, later a browser one) decides. */
export interface DocumentHandleSetup<T extends DocumentType> {
  readonly document: DocumentName & { readonly type: T }
  readonly url: string
  readonly WebSocket: WebSocketClass
  /** The store the handle keeps the document in, or null for none. The handle closes it on destroy. */
  readonly localStore: LocalStore | null
  readonly token: string | undefined
  readonly getToken: (() => Promise<string> | string) | undefined
  readonly connect: boolean
  readonly maxBackoffMs: number
  /** The platform's network state (browsers), or null. */
  readonly network: NetworkSignal | null
}

/**
 * An open document: the Y.Doc with typed accessors, kept in the local store and synced with the
 * server. Create it with `openDocument` (client/node.ts); release it with `destroy()`.
 *
 * Edits are made on `doc` / `model` directly, online or not: they are stored locally as they
 * happen and reach the server when connected.
 */
export class DocumentHandle<T extends DocumentType = DocumentType> extends ObservableV2<DocumentHandleEvents> {
  readonly type: T
  readonly id: string
  /** `<type>/<id>`: the room name on the server and the key in the local store. */
  readonly name: string
  readonly doc: Y.Doc
  /** Typed accessors over the doc's root types (shared/documentModel.ts). */
  readonly model: DocumentModels[T]
  private readonly connection: Connection
  private readonly tracker = new SavedTracker()
  private readonly localStore: LocalStore | null
  private readonly localDocument: LocalDocument | null
  private readonly loaded: Promise<void>
  private readonly synced = deferred()
  private savedWaiters: Array<Deferred> = []
  private lastSaved: boolean
  private unsaved = 0
  /** Changes seen / known stored in the local store (counted, so one flush in flight covers many). */
  private localChanges = 0
  private storedChanges = 0
  private flushing = false
  private destroying: Promise<void> | null = null
  private readonly integrity: IntegrityCheck
  /** Set once the copy was found damaged: the handle never connects again. */
  private divergedCopy: Uint8Array | null = null

  constructor(setup: DocumentHandleSetup<T>) {
    super()
    this.type = setup.document.type
    this.id = setup.document.id
    this.name = setup.document.name
    this.doc = new Y.Doc()
    this.model = modelFor(this.type, this.doc)
    this.lastSaved = this.tracker.saved
    const loaded = deferred()
    this.loaded = loaded.promise
    this.connection = new Connection({
      url: setup.url,
      room: this.name,
      doc: this.doc,
      WebSocket: setup.WebSocket,
      token: setup.token,
      getToken: setup.getToken,
      maxBackoffMs: setup.maxBackoffMs,
      ready: this.loaded,
      network: setup.network,
    })
    this.connection.on('status', this.onStatus)
    this.connection.on('sent', ({ kind, number }) => {
      if (kind === 'sync-step-2') this.updateSaved(() => this.tracker.syncStep2Sent(number))
    })
    this.connection.on('ack', (durableStateVector, durableMessages) =>
      this.updateSaved(() => this.tracker.ack(durableStateVector, durableMessages)),
    )
    this.connection.on('disconnected', () => this.updateSaved(() => this.tracker.disconnected()))
    this.connection.on('notice', (notice) => this.emit('notice', [notice]))
    this.connection.on('pendingReviews', (reviews) => this.emit('pendingReviews', [reviews]))
    this.connection.on('conflicts', (conflicts) => this.emit('conflicts', [conflicts]))
    this.connection.on('closed', (info) => this.emit('closed', [info]))
    this.integrity = new IntegrityCheck(this.doc, this.connection, () => this.lastSaved, () => void this.discardDamagedCopy())
    this.connection.on('error', (error) => this.emit('error', [error]))
    // Registered before the local store applies what it loaded: loaded state counts as local.
    // Registered after the provider's listener (in the Connection): see Connection.messageCarrying.
    this.doc.on('update', this.onDocUpdate)
    this.localStore = setup.localStore
    this.localDocument = setup.localStore?.attach(this.name, this.doc, { onError: (error) => this.emit('error', [error]) }) ?? null
    if (this.localDocument) {
      this.localDocument.loaded.then(loaded.resolve, (error: unknown) => {
        loaded.reject(error)
        this.emit('error', [error as Error])
      })
    } else {
      loaded.resolve()
    }
    if (setup.connect) this.connection.connect()
  }

  get status(): ConnectionStatus {
    return this.connection.status
  }

  /**
   * True when every local change (including state loaded from the local store) is known to be
   * durable on the server. Starts true for a new, empty handle; false while anything is unsaved,
   * also while offline. It never turns true early: each change is saved once the server's ack
   * counts the message that carried it and its content is in the durable state vector. Edits are
   * not held back for acks; changes made offline (or in a connection that dropped before its ack)
   * are saved once the next connection's sync step 2 is acknowledged. See SavedTracker.
   */
  get saved(): boolean {
    return this.lastSaved
  }

  /**
   * How many local changes (transactions, counting the state loaded from the local store as one)
   * are not known durable on the server yet: 0 when `saved`. For "N changes kept on this device".
   */
  get unsavedChanges(): number {
    return this.lastSaved ? 0 : this.unsaved
  }

  /**
   * True when every change so far (local edits and the server's alike) is in this device's local
   * store, so a crash or reload loses none of them; always true without a local store. What
   * "kept on this device" may claim: a change is typed before the store has written it.
   */
  get storedLocally(): boolean {
    return this.localDocument === null || this.storedChanges === this.localChanges
  }

  /** The server's durable state vector (client → clock) from the latest ack; null before the first. */
  get durableStateVector(): ReadonlyMap<number, number> | null {
    return this.tracker.durableStateVector
  }

  /** Presence (cursors, who is here), shared through the same connection. */
  get awareness(): Awareness {
    return this.connection.awareness
  }

  /** Resolves once the local store's state is in the doc (at once without a local store). Works offline. */
  whenLoaded(): Promise<void> {
    return this.loaded
  }

  /** Resolves when the handle is first `synced` with the server. Rejects with ERR_HANDLE_DESTROYED. */
  whenSynced(): Promise<void> {
    return this.synced.promise
  }

  /** Resolves once every local change so far is in the local store (at once without one); rejects when storing failed. */
  whenStoredLocally(): Promise<void> {
    return this.localDocument ? this.localDocument.flush() : Promise.resolve()
  }

  /** Resolves when `saved` is true (at once if it is). Rejects with ERR_HANDLE_DESTROYED. */
  whenSaved(): Promise<void> {
    if (this.destroying) return Promise.reject(this.destroyedError())
    if (this.lastSaved) return Promise.resolve()
    const waiter = deferred()
    this.savedWaiters.push(waiter)
    return waiter.promise
  }

  /** Connects (after `connect: false` or `disconnect()`), and keeps reconnecting with backoff. */
  connect(): void {
    if (!this.destroying && !this.divergedCopy) this.connection.connect()
  }

  /** True once this copy was found to differ from the server's (see the `diverged` event). */
  get diverged(): boolean {
    return this.divergedCopy !== null
  }

  /** Disconnects and stays offline until `connect()`. Local edits are still stored. */
  disconnect(): void {
    this.connection.disconnect()
  }

  /**
   * Disconnects, stores every pending update locally, closes the local store and destroys the doc.
   * Rejects with ERR_PERSISTENCE_FAILED when the last local writes failed (everything is released
   * anyway).
   */
  override destroy(): Promise<void> {
    this.destroying ??= this.release()
    return this.destroying
  }

  private async release(): Promise<void> {
    this.integrity.dispose()
    this.connection.destroy()
    this.doc.off('update', this.onDocUpdate)
    const error = this.destroyedError()
    this.synced.reject(error)
    for (const waiter of this.savedWaiters) waiter.reject(error)
    this.savedWaiters = []
    try {
      await this.localDocument?.destroy()
    } finally {
      try {
        await this.localStore?.close()
      } finally {
        this.doc.destroy()
        super.destroy()
      }
    }
  }

  private readonly onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    this.trackLocalStore()
    // The server's changes are durable before it sends them: only our own changes are tracked.
    if (origin === this.connection.provider) return
    this.unsaved += 1
    this.updateSaved(() => this.tracker.localUpdate(update, this.connection.messageCarrying(update)))
  }

  /**
   * Follows the local store's writes with one flush at a time: each flush covers every change
   * counted before it started. Started after the current update's listeners ran (a microtask), so
   * the store has queued that update's write before the flush is asked for.
   */
  private trackLocalStore(): void {
    if (this.localDocument === null) return
    const wasStored = this.storedLocally
    this.localChanges++
    if (wasStored) this.emit('storedLocally', [false])
    if (this.flushing) return
    this.flushing = true
    queueMicrotask(() => void this.flushLocalStore())
  }

  private async flushLocalStore(): Promise<void> {
    try {
      while (this.storedChanges < this.localChanges && !this.destroying && this.localDocument) {
        const covered = this.localChanges
        // A failed write is reported through the store's onError (→ `error`); stay not-stored.
        await this.localDocument.flush()
        this.storedChanges = covered
        if (this.storedLocally) this.emit('storedLocally', [true])
      }
    } catch {
      // reported by the store; the next change starts another attempt
    } finally {
      this.flushing = false
    }
  }

  private readonly onStatus = (status: ConnectionStatus): void => {
    if (status === 'synced') this.synced.resolve()
    this.emit('status', [status])
  }

  private async discardDamagedCopy(): Promise<void> {
    if (this.divergedCopy || this.destroying) return
    const copy = Y.encodeStateAsUpdate(this.doc)
    this.divergedCopy = copy
    this.connection.disconnect()
    try {
      await this.localDocument?.discard()
    } catch (error) {
      this.emit('error', [error as Error])
    }
    this.emit('diverged', [copy])
  }

  private updateSaved(change: () => void): void {
    change()
    const saved = this.tracker.saved
    if (saved) this.unsaved = 0
    if (saved === this.lastSaved) return
    this.lastSaved = saved
    if (saved) {
      for (const waiter of this.savedWaiters) waiter.resolve()
      this.savedWaiters = []
    }
    this.emit('saved', [saved])
    if (saved) this.integrity.savedChanged()
  }

  private destroyedError(): CollabError {
    return new CollabError(ErrorCode.HandleDestroyed, `${this.name}: the document handle was destroyed`)
  }
}

interface Deferred {
  readonly promise: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

/** A promise with its settle functions; a rejection nobody awaits is not reported as unhandled. */
const deferred = (): Deferred => {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return { promise, resolve, reject }
}
