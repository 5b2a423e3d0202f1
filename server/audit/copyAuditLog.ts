import type { AuditLog } from './auditLog.ts'

/** Records read and written per step: a year of a tenant is never in memory at once. */
const PAGE = 10_000

/**
 * Copies every tenant's access records from one log to another (LevelDB to PostgreSQL with
 * `copy-to-postgres`), page by page in time order. Records keep their ids, so copying again
 * writes nothing twice. Returns how many records were read.
 */
export const copyAuditLog = async (source: AuditLog, target: AuditLog): Promise<number> => {
  let copied = 0
  for (const tenant of await source.tenants()) {
    let from = 0
    let lastId = ''
    for (;;) {
      const page = (await source.read(tenant, { from, to: Number.MAX_SAFE_INTEGER, limit: PAGE })).filter((record) => record.id > lastId)
      if (page.length === 0) break
      await target.append(page)
      copied += page.length
      const last = page.at(-1)!
      lastId = last.id
      // The next page starts at the last record's millisecond (others of it may follow); ids after it only.
      from = last.at
    }
  }
  return copied
}
