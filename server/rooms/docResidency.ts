import * as Y from 'yjs'
import { SERVER_DOC_OPTIONS } from '../persistence/storedDoc.ts'
import { encodeSyncStep2, encodeSyncStep2FromUpdate } from '../protocol/protocol.ts'

/**
 * How long a document nobody uses is kept as a Y.Doc before the room lets it go and keeps only its
 * encoded state (see `DocResidency.letGoIfIdle`): at least a second, and at least 1000 times what
 * building it again costs, so rebuilding for the next change costs at most 0.1% of the time the
 * document sat idle (and a change after a pause waits at most a thousandth of that pause for it).
 * Building a document from its update takes ~0.25 µs per byte (a 300 KB document: ~75 ms); the
 * state is never read from disk for it. The server's sweep looks once a second, so a document of a
 * few KB is let go one to two seconds after its last use, one of 300 KB after 75 to 76 s.
 */
export const keepIdleDocMs = (encodedBytes: number): number => Math.max(1_000, encodedBytes * 0.25)

/**
 * A first sync's answer (the whole document) is kept for the next fresh joiner only from this size
 * on: below it encoding costs little and holding it twice is not worth it.
 */
export const FULL_SYNC_KEPT_FROM_BYTES = 64 * 1024

/** A replica that holds nothing yet asks with an empty state vector (no clients: one zero byte). */
const isEmptyStateVector = (stateVector: Uint8Array): boolean => stateVector.byteLength === 1 && stateVector[0] === 0

/** The doc of a room that has not loaded yet: shared, never written, never destroyed (one Y.Doc less per room). */
const NOT_LOADED = new Y.Doc()

/**
 * Where a room's document lives: as a Y.Doc while it is used, or as its encoded state once nobody
 * used it for a while (a Y.Doc with its types, maps and event handlers costs kilobytes even when
 * its content is a few bytes), built again when something needs it. Also keeps an upper bound of
 * the document's encoded size, so the size limit needs no encode per write.
 */
export class DocResidency {
  private liveDoc: Y.Doc = NOT_LOADED
  /** The state of a let-go doc: its state vector, then its update, in one buffer. null while the doc is live. */
  private idleState: Uint8Array | null = null
  private idleStateVectorLength = 0
  /** The let-go doc's client id, kept so the server's own changes go on under one id. */
  private idleClientID = 0
  /** Date.now() when the doc was last found used (by the sweep, see `used`), built or loaded. */
  private usedAt = Date.now()
  /** The doc was read (a change, a rule, the admin API, a test) since the sweep last looked. */
  private used = false
  /**
   * An upper bound of the document's encoded size: exact when last measured (or let go while
   * idle), or the stored updates' bytes when loaded, plus the bytes of every update stored since.
   */
  private sizeBound = 0
  /** Bytes added to the bound since it was last exact (Infinity: never measured). */
  private bytesSinceMeasured = Infinity
  /**
   * The answer to a fresh replica's sync step 1 while the live doc has not changed since it was
   * encoded (dropped at the doc's next update, whatever made it): a join storm on a large document
   * encodes it once instead of once per joiner.
   */
  private fullSync: Uint8Array | null = null

  /** The document, built again from its encoded state if it was let go: synchronously, so frames keep their order. */
  get doc(): Y.Doc {
    if (this.idleState !== null) this.rebuild()
    this.used = true
    return this.liveDoc
  }

  get encodedSizeBound(): number {
    return this.sizeBound
  }

  get encodedSizeSlack(): number {
    return this.bytesSinceMeasured
  }

  /** Is the document held as a Y.Doc (false: let go while idle, or not loaded)? */
  get holdsDoc(): boolean {
    return this.liveDoc !== NOT_LOADED
  }

  /** The document's encoded size, exactly (cost ∝ the document): the bound becomes exact. */
  measureEncodedSize(): number {
    this.sizeBound = this.idleState ? this.idleState.byteLength - this.idleStateVectorLength : Y.encodeStateAsUpdate(this.liveDoc).byteLength
    this.bytesSinceMeasured = 0
    return this.sizeBound
  }

  /** An update of `bytes` was accepted: the bound grows by it. */
  grew(bytes: number): void {
    this.sizeBound += bytes
    this.bytesSinceMeasured += bytes
  }

  /** The document's state vector, without building a let-go doc again. */
  stateVector(): Uint8Array {
    return this.idleState ? this.idleState.subarray(0, this.idleStateVectorLength) : Y.encodeStateVector(this.liveDoc)
  }

  /** The answer to a sync step 1, without building a let-go doc again. Throws on a malformed state vector. */
  syncStep2For(stateVector: Uint8Array): Uint8Array {
    const fresh = isEmptyStateVector(stateVector)
    if (this.idleState !== null) {
      const update = this.idleState.subarray(this.idleStateVectorLength)
      return encodeSyncStep2FromUpdate(fresh ? update : Y.diffUpdate(update, stateVector))
    }
    if (!fresh) return encodeSyncStep2(this.liveDoc, stateVector)
    if (this.fullSync) return this.fullSync
    const answer = encodeSyncStep2(this.liveDoc, stateVector)
    if (answer.byteLength >= FULL_SYNC_KEPT_FROM_BYTES && this.liveDoc !== NOT_LOADED) {
      const doc = this.liveDoc
      this.fullSync = answer
      // Any change — an insert, a deletion alone (which leaves the state vector as it was), the
      // server's own — emits 'update': the kept answer never outlives the state it encodes.
      doc.once('update', () => {
        if (this.liveDoc === doc) this.fullSync = null
      })
    }
    return answer
  }

  /**
   * The document as it is held, encoded (its update and state vector), or null when there is none;
   * a let-go doc's state is copied out of its buffer, a live one is encoded (cost ∝ the document).
   */
  encodedState(): { update: Uint8Array; stateVector: Uint8Array } | null {
    if (this.idleState) {
      const state = this.idleState
      return { update: state.slice(this.idleStateVectorLength), stateVector: state.slice(0, this.idleStateVectorLength) }
    }
    if (this.liveDoc === NOT_LOADED) return null
    return { update: Y.encodeStateAsUpdate(this.liveDoc), stateVector: Y.encodeStateVector(this.liveDoc) }
  }

  /** The doc was loaded (or read back): it replaces whatever was held; `sizeBound` is what it was built from. */
  adopt(doc: Y.Doc, sizeBound?: number): void {
    if (this.liveDoc !== NOT_LOADED) this.liveDoc.destroy()
    this.liveDoc = doc
    this.idleState = null
    this.fullSync = null
    this.usedAt = Date.now()
    if (sizeBound !== undefined) this.sizeBound = sizeBound
  }

  /**
   * Called by the server's sweep (through the room, which knows every write is durable): a
   * document nobody used for `keepIdleDocMs` of its size is let go and only its encoded state kept.
   * Its state is exactly the doc's, so nothing a peer or the gate sees changes.
   */
  letGoIfIdle(now: number): void {
    if (this.idleState !== null || this.liveDoc === NOT_LOADED) return
    if (this.used) {
      // Used since the last look (a flag, not a clock read at every access): idle from now on.
      this.used = false
      this.usedAt = now
    }
    if (now - this.usedAt < keepIdleDocMs(this.sizeBound)) return
    const doc = this.liveDoc
    if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) return // never: the write path refuses those
    const stateVector = Y.encodeStateVector(doc)
    const update = Y.encodeStateAsUpdate(doc)
    const state = new Uint8Array(stateVector.length + update.length)
    state.set(stateVector)
    state.set(update, stateVector.length)
    this.idleState = state
    this.idleStateVectorLength = stateVector.length
    this.idleClientID = doc.clientID
    this.sizeBound = update.length
    this.bytesSinceMeasured = 0
    this.liveDoc = NOT_LOADED
    this.fullSync = null
    doc.destroy()
  }

  /** Releases the doc (the room closed). */
  destroy(): void {
    if (this.liveDoc !== NOT_LOADED) this.liveDoc.destroy()
    this.liveDoc = NOT_LOADED
    this.idleState = null
    this.fullSync = null
  }

  private rebuild(): void {
    const state = this.idleState!
    const doc = new Y.Doc(SERVER_DOC_OPTIONS)
    Y.applyUpdate(doc, state.subarray(this.idleStateVectorLength))
    // After the update: Yjs gives a doc a new id when a remote update carries its own id's changes.
    doc.clientID = this.idleClientID
    this.liveDoc = doc
    this.idleState = null
    this.usedAt = Date.now()
  }
}
