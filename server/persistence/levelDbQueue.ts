import type { LevelBatchDb } from './levelBatchDb.ts'
import type { OperationChains } from './operationChains.ts'
import type { LogOp } from './writeAheadLog.ts'

export interface LevelDbQueueOptions {
  readonly chains: OperationChains
  /** The raw database (logged values are sealed already); null once closed. */
  readonly database: () => LevelBatchDb | null
  /** Under load, at most one LevelDB batch per this many ms. */
  readonly batchIntervalMs: number
  /** LevelDB refused a logged write of the document: no further write may be acknowledged. */
  readonly onRefused: (storageName: string, error: unknown) => void
}

/**
 * How writes durable in the write-ahead log reach LevelDB. A logged write waits on its document's
 * chain (so a document's operations keep their order); writes logged while the document's
 * previous LevelDB write is still queued join it (one chain step for all of them), so a busy
 * document does not fall behind one LevelDB batch per write; any other operation queued on the
 * chain (a read, a compaction) closes the group, so it still sees exactly the writes before it.
 *
 * Once their turn has come, the writes of every document go to LevelDB together. A LevelDB batch
 * costs ~20 µs of CPU plus ~3 µs per key (thread-pool hop, LevelDB's own log, the binding reading
 * each op), so under load batches start at most every `batchIntervalMs` and carry everything
 * logged meanwhile: LevelDB lags the log by that much at most (a read of the document waits for it
 * on the chain); when writes are rare, a batch starts at once.
 */
export class LevelDbQueue {
  /** Logged writes whose turn has come, waiting for the next LevelDB batch. */
  private toApply: Array<{ ops: readonly LogOp[]; resolve: () => void; reject: (error: unknown) => void }> = []
  private applying = false
  private lastApplyAt = -Infinity

  constructor(private readonly options: LevelDbQueueOptions) {}

  /** Queues a logged write of the document; `applied` is called once LevelDB holds it. */
  queue(storageName: string, ops: readonly LogOp[], applied: () => void): void {
    const { chains } = this.options
    const open = chains.openGroupOf(storageName)
    if (open) {
      open.ops.push(...ops)
      open.applied.push(applied)
      return
    }
    const group = { ops: [...ops], applied: [applied] }
    chains.openGroup(storageName, group)
    const write = () => {
      chains.closeGroup(storageName, group)
      return this.apply(group.ops)
    }
    chains.runFor(storageName, `append ${storageName}`, write, group).then(
      () => group.applied.forEach((done) => done()),
      (error: unknown) => this.options.onRefused(storageName, error),
    )
  }

  /** Off the path of the write that became durable: joins the next LevelDB batch. */
  private apply(ops: readonly LogOp[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.toApply.push({ ops, resolve, reject })
      if (!this.applying) {
        this.applying = true
        const wait = this.lastApplyAt + this.options.batchIntervalMs - performance.now()
        if (wait > 0) setTimeout(() => this.applyQueued(), wait)
        else setImmediate(() => this.applyQueued())
      }
    })
  }

  private applyQueued(): void {
    this.lastApplyAt = performance.now()
    const queued = this.toApply
    this.toApply = []
    // Logged values are sealed already: straight to LevelDB.
    const write = async () => {
      const db = this.options.database()
      if (!db) throw new Error('the store is not open')
      return db.batch(queued.flatMap(({ ops }) => ops))
    }
    write()
      .then(
        () => queued.forEach(({ resolve }) => resolve()),
        (error: unknown) => queued.forEach(({ reject }) => reject(error)),
      )
      .finally(() => {
        if (this.toApply.length === 0) this.applying = false
        else setTimeout(() => this.applyQueued(), Math.max(0, this.lastApplyAt + this.options.batchIntervalMs - performance.now()))
      })
  }
}
