/** One handled message waiting to become durable. */
export interface PendingWrite<Source> {
  /** null: nothing new to store, but the source still wants to learn when everything before is durable. */
  readonly update: Uint8Array | null
  /** The peer the message came from, or null for the server's own changes (admin, review approval). */
  readonly source: Source | null
  /** The source's message sequence number (1-based), acknowledged once this write is durable. */
  readonly sequence: number
  /** What the source itself must receive once durable (the compensation of its own change). */
  readonly echo?: Uint8Array | null
  /** performance.now() when the message arrived (receive → durable latency). */
  readonly receivedAt: number
}

export interface CommittedBatch<W> {
  readonly writes: readonly W[]
  /** The document's state vector when the batch was cut: exactly what is now on disk. */
  readonly durableStateVector: Uint8Array
}

/**
 * What a group commit writes for (a room): methods, not callbacks, so a room costs no closures
 * for its queue.
 */
export interface GroupCommitOwner<W> {
  /**
   * Stores a batch of writes as one atomic write; must reject when the write failed.
   * `durableStateVector` is the document's state vector once the batch is stored.
   */
  writeBatch(writes: readonly W[], durableStateVector: Uint8Array): Promise<void>
  /** The state vector of the in-memory document, read when a batch is cut. */
  currentStateVector(): Uint8Array
  batchCommitted(batch: CommittedBatch<W>): void
  batchFailed(error: unknown, lost: readonly W[]): void
}

/** The default clock: one function for every room's queue, not a closure per room. */
const monotonicNow = (): number => performance.now()

/** Where every queue's chain starts (one shared settled promise instead of one per room). */
const SETTLED: Promise<void> = Promise.resolve()

/**
 * A document with no write for this long is quiet: its next write is cut at the end of the task
 * that handled it (latency: the peers see it without waiting for the rest of the loop turn). A
 * busy one is cut at the end of the loop turn, so frames from several sockets in one turn share a
 * write and a broadcast (throughput: one message per peer per batch).
 */
const QUIET_MS = 5

/**
 * Group commit for one document: writes handled in the same tick, and those handled while the
 * previous write was in flight, go to disk as one atomic write. Writes are strictly ordered, so
 * batches commit in the order their updates were applied, and the state vector read when a batch
 * is cut covers that batch and every earlier one and nothing later.
 *
 * After a failed write the queue refuses everything (the caller discards the room): an in-memory
 * state ahead of the disk must never be acknowledged.
 */
export class GroupCommit<W> {
  private pending: W[] = []
  private tail: Promise<void> = SETTLED
  private scheduled = false
  private writing = false
  private failed = false
  private lastEnqueuedAt = -Infinity

  constructor(
    private readonly owner: GroupCommitOwner<W>,
    /** The clock that tells quiet from busy (a test passes its own: no test depends on how fast the machine is). */
    private readonly now: () => number = monotonicNow,
  ) {}

  get depth(): number {
    return this.pending.length
  }

  /** Nothing queued, scheduled or being written: everything enqueued so far is durable (or was dropped). */
  get idle(): boolean {
    return !this.scheduled && !this.writing && this.pending.length === 0
  }

  enqueue(write: W): void {
    if (this.failed) return
    this.pending.push(write)
    const now = this.now()
    const quiet = now - this.lastEnqueuedAt > QUIET_MS
    this.lastEnqueuedAt = now
    if (this.scheduled) return
    this.scheduled = true
    const cut = () => {
      this.scheduled = false
      this.tail = this.tail.then(() => this.commitPending())
    }
    if (quiet) queueMicrotask(cut)
    else setImmediate(cut)
  }

  /** Resolves when everything enqueued so far is durable (or was dropped by a failure). */
  async drain(): Promise<void> {
    while (this.scheduled || this.pending.length > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      await this.tail
    }
    await this.tail
  }

  private async commitPending(): Promise<void> {
    if (this.failed || this.pending.length === 0) return
    const writes = this.pending
    this.pending = []
    const durableStateVector = this.owner.currentStateVector()
    this.writing = true
    try {
      await this.owner.writeBatch(writes, durableStateVector)
    } catch (error) {
      this.failed = true
      const lost = [...writes, ...this.pending]
      this.pending = []
      this.owner.batchFailed(error, lost)
      return
    } finally {
      this.writing = false
    }
    this.owner.batchCommitted({ writes, durableStateVector })
  }
}
