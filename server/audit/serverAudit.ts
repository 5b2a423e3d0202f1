import type { Registry } from 'prom-client'
import type { ServerConfig } from '../config.ts'
import type { Logger } from '../observability/logger.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { AdminAudit } from '../admin/adminApi.ts'
import { AuditAppender } from './auditAppender.ts'
import type { AuditLog } from './auditLog.ts'
import { buildAuditReport } from './auditReport.ts'
import { auditLogFor } from './auditStorage.ts'
import { AuditTrail } from './auditTrail.ts'

const DAY_MS = 24 * 3600 * 1000
/** Retention runs at start and then this often: a record outlives its retention by at most this. */
const PRUNE_INTERVAL_MS = 3600_000

export interface ServerAudit extends AdminAudit {
  readonly log: AuditLog
  readonly appender: AuditAppender
  /** Deletes the records past retention now (also run at start and hourly). */
  prune(): Promise<number>
  /** Writes what is buffered and stops retention; before the store closes. */
  close(): Promise<void>
}

/** The access audit of a running server: recording (upgrade, admin API), the report, and retention in the background. */
export const startServerAudit = (config: ServerConfig, store: DocumentStorage, registry: Registry, logger: Logger): ServerAudit => {
  const log = auditLogFor(store)
  const appender = new AuditAppender(log, { maxBuffered: config.auditBufferRecords, flushMs: config.auditFlushMs, registry, logger })
  const trail = new AuditTrail(appender, config.trustProxy)
  let pruning: Promise<number> | null = null
  const prune = (): Promise<number> => {
    if (config.auditRetentionDays === 0) return Promise.resolve(0)
    pruning ??= log
      .prune(Date.now() - config.auditRetentionDays * DAY_MS)
      .then(
        (pruned) => {
          if (pruned > 0) logger.info({ pruned, retentionDays: config.auditRetentionDays }, 'access audit records past retention deleted')
          return pruned
        },
        (error: unknown) => {
          logger.error({ err: error }, 'access audit retention failed; retried at the next run')
          return 0
        },
      )
      .finally(() => {
        pruning = null
      })
    return pruning
  }
  void prune()
  const timer = setInterval(() => void prune(), PRUNE_INTERVAL_MS)
  timer.unref()
  return {
    log,
    appender,
    trail,
    prune,
    report: async (tenant, query) => {
      // What was recorded before the report was asked for is in it (the cut sockets summed so far too).
      trail.cutSockets.flush()
      await appender.flush()
      return buildAuditReport({ audit: log, store }, tenant, query)
    },
    async close() {
      clearInterval(timer)
      await pruning
      trail.cutSockets.flush()
      await appender.close()
    },
  }
}
