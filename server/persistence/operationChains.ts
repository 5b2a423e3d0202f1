import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { Logger } from '../observability/logger.ts'
import type { LevelBatchDb } from './levelBatchDb.ts'
import type { LogOp } from './writeAheadLog.ts'
import { describeError } from './describeError.ts'

/** Logged writes of one document that go to LevelDB in one step of its chain. */
export interface WriteGroup {
  readonly ops: LogOp[]
  readonly applied: Array<() => void>
}

export interface OperationChainsOptions {
  /** The database operations run on (sealing and opening values when encrypted); throws when the store is not open. */
  readonly database: () => LevelBatchDb
  /** Where slow operations are reported (warn). */
  readonly logger: Logger | null
  /** An operation that takes longer than this (waiting for its turn included) is logged. */
  readonly slowOperationMs: number
}

/**
 * The order of the store's operations. Operations on one document are serialized on that
 * document's own chain (a write never interleaves with its compaction), documents do not wait for
 * each other (y-leveldb's one global chain made a big document's compaction stall every other
 * document's writes), and every failure is rethrown as ERR_PERSISTENCE_FAILED (y-leveldb logs it
 * and resolves with null: a failed write looked like one that succeeded).
 */
export class OperationChains {
  /** The tail of each document's operation chain; removed when it has settled. */
  private readonly chains = new Map<string, Promise<unknown>>()
  /** Per document: the logged writes whose LevelDB write is queued on its chain and not started. */
  private readonly openGroups = new Map<string, WriteGroup>()

  constructor(private readonly options: OperationChainsOptions) {}

  /** Does the document have an operation queued or running? */
  has(storageName: string): boolean {
    return this.chains.has(storageName)
  }

  /** Resolves once every operation queued so far has settled (those queued later are not waited for). */
  async settled(): Promise<void> {
    if (this.chains.size > 0) await Promise.allSettled([...this.chains.values()])
  }

  /** Resolves once no document has an operation queued (closing: later ones included). */
  async drained(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()])
  }

  /** The document's group of logged writes still waiting for its turn, which a new logged write may join. */
  openGroupOf(storageName: string): WriteGroup | undefined {
    return this.openGroups.get(storageName)
  }

  /** A new group of logged writes, queued (by `runFor` with it) as the document's last operation. */
  openGroup(storageName: string, group: WriteGroup): void {
    this.openGroups.set(storageName, group)
  }

  /** The group's turn has come: writes logged from now on start a new one. */
  closeGroup(storageName: string, group: WriteGroup): void {
    if (this.openGroups.get(storageName) === group) this.openGroups.delete(storageName)
  }

  /** An operation on one document: after the document's earlier operations, independent of other documents. */
  runFor<T>(storageName: string, label: string, operation: (db: LevelBatchDb) => Promise<T>, group?: WriteGroup): Promise<T> {
    // Anything else queued after a group of logged writes comes after all of them: close the group.
    if (this.openGroups.get(storageName) !== group) this.openGroups.delete(storageName)
    const queuedAt = performance.now()
    const previous = this.chains.get(storageName) ?? Promise.resolve()
    const result = previous.then(() => this.attempt(label, queuedAt, () => operation(this.options.database())))
    const tail = result.catch(() => {}) // the next operation runs after a failed one too
    this.chains.set(storageName, tail)
    void tail.then(() => {
      if (this.chains.get(storageName) === tail) this.chains.delete(storageName)
    })
    return result
  }

  /** An operation on keys of no document (reviews, notifications), after the logged writes before it. */
  async runDirect<T>(label: string, operation: (db: LevelBatchDb) => Promise<T>): Promise<T> {
    const queuedAt = performance.now()
    // Review items ride in documents' logged writes: wait until LevelDB holds every write logged
    // so far (the chains as they are now), so a review is readable once its write is durable.
    await this.settled()
    return this.attempt(label, queuedAt, () => operation(this.options.database()))
  }

  /** Runs an operation; a failure becomes ERR_PERSISTENCE_FAILED; a slow one is logged. */
  private async attempt<T>(label: string, queuedAt: number, operation: () => Promise<T>): Promise<T> {
    const startedAt = performance.now()
    try {
      return await operation()
    } catch (error) {
      throw error instanceof CollabError ? error : new CollabError(ErrorCode.PersistenceFailed, `${label}: ${describeError(error)}`)
    } finally {
      const doneAt = performance.now()
      const { logger, slowOperationMs } = this.options
      if (logger && doneAt - queuedAt >= slowOperationMs) {
        logger.warn({ operation: label, ms: Math.round(doneAt - queuedAt), waitedMs: Math.round(startedAt - queuedAt) }, 'slow store operation')
      }
    }
  }
}
