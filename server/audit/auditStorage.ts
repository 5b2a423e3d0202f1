import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { AuditLog } from './auditLog.ts'
import { levelDbAuditLog, type DirectKeys } from './levelDbAuditLog.ts'
import { postgresAuditLog, type SealedRows } from './postgresAuditLog.ts'

/**
 * The audit log kept in the same store as the documents: PostgreSQL's `audit_records` table, or a
 * key range of the LevelDB store's own (so the records share its lock, its encryption at rest and
 * its key rotation, and an offline CLI on the data directory reaches them too).
 */
export const auditLogFor = (store: DocumentStorage): AuditLog => {
  if ('sealedRows' in store) return postgresAuditLog(store as DocumentStorage & SealedRows)
  if ('readRange' in store && 'writeDirect' in store) return levelDbAuditLog(store as DocumentStorage & DirectKeys)
  throw new Error(`the store at ${store.location} keeps no access audit`)
}
