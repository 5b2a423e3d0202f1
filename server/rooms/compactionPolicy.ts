import type { Logger } from '../observability/logger.ts'
import type { DocumentState, DocumentStorage } from '../persistence/documentStorage.ts'

/** Stored bytes past this multiple of the last compacted size (plus the floor) trigger a compaction. */
const COMPACT_STORED_MULTIPLE = 2
/** So a small document is not compacted at every write that doubles it (a compaction costs ∝ the document). */
const COMPACT_STORED_FLOOR_BYTES = 1024 * 1024
/**
 * A compaction encodes the whole document, so a larger one waits for more stored updates: one per
 * this many bytes of what its last compaction kept (a 20 MB document every ~5,000 updates instead
 * of every 500), and the compaction work per stored update stays the same whatever the size.
 */
const COMPACTED_BYTES_PER_UPDATE = 4096

/** What the policy needs of its room: the store, the document's storage name, where to log. */
export interface CompactionTarget {
  readonly store: DocumentStorage
  readonly storageName: string
  readonly logger: Logger
}

/**
 * When a room's document is compacted (its stored updates merged into one): after
 * `compactAfterUpdates` stored updates, or one per COMPACTED_BYTES_PER_UPDATE of the document when
 * that is more (cold loads stay fast), and when the stored bytes pass
 * COMPACT_STORED_MULTIPLE times what the last compaction kept plus COMPACT_STORED_FLOOR_BYTES:
 * content deleted or compensated since costs storage only until then, so what a document takes on
 * disk stays in proportion to what it holds. Counts what is stored from what the room writes, so
 * deciding costs no read.
 */
export class CompactionPolicy {
  private storedUpdates = 0
  /** Bytes of the document's stored updates, and of the one its last compaction wrote (0: unknown). */
  private storedBytes = 0
  private compactedBytes = 0
  private compacting = false
  /** The compaction running, settled either way (an admin's waits for it). */
  private running: Promise<void> | null = null

  constructor(
    private readonly target: CompactionTarget,
    private readonly compactAfterUpdates: number,
  ) {}

  /** Read from disk (loaded, or read back): `bytes` is null when unknown (the count is what matters then). */
  loaded(updates: number, bytes: number | null): void {
    this.storedUpdates = updates
    if (bytes === null) return
    this.storedBytes = bytes
    this.compactedBytes = updates === 1 ? bytes : 0
  }

  /** A batch is durable: one more stored update (if it held one) of `bytes`. */
  stored(update: boolean, bytes: number): void {
    this.storedUpdates += update ? 1 : 0
    this.storedBytes += bytes
  }

  /** Is there anything to merge, and no compaction running? */
  get worthCompacting(): boolean {
    return !this.compacting && this.storedUpdates > 1
  }

  /**
   * Compacts when due. `storedState` gives the document exactly as stored when the room can tell
   * (every write durable): encoding it costs a fraction of rebuilding the document from its stored
   * updates, which is what the compaction does otherwise.
   */
  maybeCompact(storedState?: () => DocumentState | null): void {
    if (!this.worthCompacting) return
    const manyUpdates = this.storedUpdates >= Math.max(this.compactAfterUpdates, this.compactedBytes / COMPACTED_BYTES_PER_UPDATE)
    const manyBytes = this.storedBytes > COMPACT_STORED_MULTIPLE * this.compactedBytes + COMPACT_STORED_FLOOR_BYTES
    if (manyUpdates || manyBytes) this.compact(storedState?.() ?? undefined)
  }

  /**
   * Compaction runs on the store's chain for this document, so it never interleaves with the
   * room's writes. `state`: the document exactly as stored (see DocumentStorage.compact). A
   * failure is logged: the stored updates stay as they were, and the next trigger tries again.
   */
  compact(state?: DocumentState): void {
    this.run(state).catch((error: unknown) => this.target.logger.error({ err: error }, 'compaction failed'))
  }

  /**
   * Compacts now (an admin asked), after a compaction already running; resolves with the merged
   * update's size (null: nothing to merge) or rejects with the store's error.
   */
  async compactNow(): Promise<number | null> {
    while (this.running) await this.running
    return this.run()
  }

  private run(state?: DocumentState): Promise<number | null> {
    this.compacting = true
    const before = this.storedUpdates
    const bytesBefore = this.storedBytes
    const { store, storageName, logger } = this.target
    const compacted = store
      .compact(storageName, state)
      .then((merged) => {
        if (merged === null) return null
        this.storedUpdates = Math.max(1, this.storedUpdates - before + 1)
        this.storedBytes = this.storedBytes - bytesBefore + merged
        this.compactedBytes = merged
        logger.debug({ merged: before }, 'compacted')
        return merged
      })
      .finally(() => {
        this.compacting = false
        this.running = null
      })
    this.running = compacted.then(
      () => {},
      () => {},
    )
    return compacted
  }
}
