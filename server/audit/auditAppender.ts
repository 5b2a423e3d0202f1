import { Counter, type Registry } from 'prom-client'
import type { Logger } from '../observability/logger.ts'
import type { AuditLog } from './auditLog.ts'
import type { AuditRecord } from './auditRecord.ts'

export interface AuditAppenderOptions {
  /** Records held in memory waiting for their write; past it new records are dropped (counted). */
  readonly maxBuffered: number
  /** How long a record waits to be written with others. */
  readonly flushMs: number
  /** Records per write. */
  readonly maxBatch?: number
  readonly registry?: Registry
  readonly logger?: Logger | null
}

/**
 * Writes access records in the background, in batches: recording never waits for the store, so a
 * slow or failing store never holds up a connection or an admin call. The buffer is bounded: when
 * it is full (the store fell far behind, or a flood of refused requests) a new record is dropped,
 * counted in `collab_audit_dropped_total{reason="buffer-full"}` and logged (once per flush, with
 * the count). Blocking instead would turn an audit backlog into an outage of the service it
 * audits, and a flood of junk connections into one of the audit itself; a drop is visible, in the
 * metric an alert watches and in the log. A batch the store refuses is dropped the same way
 * (`reason="write-failed"`) rather than retried forever.
 */
export class AuditAppender {
  private buffer: AuditRecord[] = []
  private timer: NodeJS.Timeout | null = null
  private writing: Promise<void> | null = null
  private droppedSinceLog = 0
  /** Records buffered so far, and those whose write has ended (written or dropped as failed). */
  private buffered = 0
  private settled = 0
  private closed = false
  private readonly maxBatch: number
  private readonly dropped: Counter<'reason'>

  constructor(
    private readonly log: AuditLog,
    private readonly options: AuditAppenderOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 500
    this.dropped = new Counter({
      name: 'collab_audit_dropped_total',
      help: 'Access audit records dropped, by reason (buffer-full: the store fell behind; write-failed: the store refused a batch)',
      labelNames: ['reason'] as const,
      registers: options.registry ? [options.registry] : [],
    })
    this.dropped.inc({ reason: 'buffer-full' }, 0)
    this.dropped.inc({ reason: 'write-failed' }, 0)
  }

  /** Queues a record; never waits, never throws. */
  record(record: AuditRecord): void {
    // Closed: the server is stopping and its store is closing; a late refusal has nowhere to go.
    if (this.closed) return
    if (this.buffer.length >= this.options.maxBuffered) {
      this.dropped.inc({ reason: 'buffer-full' })
      this.droppedSinceLog++
      this.schedule()
      return
    }
    this.buffer.push(record)
    this.buffered++
    this.schedule()
  }

  /**
   * Resolves once everything recorded before the call is written (or dropped as failed); records
   * that keep arriving meanwhile do not hold it up.
   */
  async flush(): Promise<void> {
    const target = this.buffered
    while (this.settled < target) {
      if (this.timer) clearTimeout(this.timer)
      this.timer = null
      await (this.writing ?? this.writeNext())
    }
  }

  /** Drops whatever is recorded from now on and writes what is buffered. */
  async close(): Promise<void> {
    this.closed = true
    await this.flush()
  }

  private schedule(): void {
    if (this.timer || this.writing) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.writeNext()
    }, this.options.flushMs)
    this.timer.unref()
  }

  private writeNext(): Promise<void> {
    if (this.droppedSinceLog > 0) {
      this.options.logger?.warn({ dropped: this.droppedSinceLog, maxBuffered: this.options.maxBuffered }, 'access audit buffer full: records dropped')
      this.droppedSinceLog = 0
    }
    const batch = this.buffer.splice(0, this.maxBatch)
    if (batch.length === 0) return Promise.resolve()
    this.writing = this.log
      .append(batch)
      .catch((error: unknown) => {
        this.dropped.inc({ reason: 'write-failed' }, batch.length)
        this.options.logger?.error({ err: error, dropped: batch.length }, 'access audit write failed: records dropped')
      })
      .finally(() => {
        this.settled += batch.length
        this.writing = null
        if (this.buffer.length > 0 || this.droppedSinceLog > 0) this.schedule()
      })
    return this.writing
  }
}
