import type { AuditRecord } from './auditRecord.ts'

export interface AuditRange {
  /** ms since the epoch, inclusive. */
  readonly from: number
  readonly to: number
  /** At most this many records (the oldest first); the report refuses a range holding more. */
  readonly limit: number
}

/**
 * Where access records are kept: per tenant and time, so a report's range read touches only its
 * tenant's records of that period. Two implementations (LevelDB, PostgreSQL), one contract test
 * (auditLog.test.ts). Records are sealed like every other stored value when a master key is set.
 */
export interface AuditLog {
  /** Stores the records, all or none. */
  append(records: readonly AuditRecord[]): Promise<void>
  /** A tenant's records with `from <= at <= to`, oldest first. */
  read(tenant: string, range: AuditRange): Promise<AuditRecord[]>
  /** Every tenant with records (`-` included), sorted: for copying the whole log. */
  tenants(): Promise<string[]>
  /** Retention: deletes every tenant's records older than `cutoff` (ms epoch). Returns how many. */
  prune(cutoff: number): Promise<number>
}
