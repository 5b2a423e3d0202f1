import type pg from 'pg'
import type { RowSealer } from '../persistence/postgres/sealedRows.ts'
import type { AuditLog, AuditRange } from './auditLog.ts'
import { auditIdBounds, type AuditRecord } from './auditRecord.ts'

/** The part of the PostgreSQL store the audit uses: transactions that seal rows like the store's. */
export interface SealedRows {
  sealedRows<T>(label: string, work: (client: pg.PoolClient, sealer: RowSealer) => Promise<T>): Promise<T>
}

/** The record's identity, its associated data when sealed: a row moved to another tenant or id does not open. */
const location = (tenant: string, id: string) => ['posalpro_audit', tenant, id]

/** Rows deleted per statement by retention: one statement never holds a year of locks. */
const PRUNE_BATCH = 5_000

/** Access records in `audit_records` (migration 7), keyed by tenant and a time-sorted id. */
export const postgresAuditLog = (store: SealedRows): AuditLog => ({
  async append(records) {
    if (records.length === 0) return
    await store.sealedRows('audit records', async (client, sealer) => {
      const tenants: string[] = []
      const ids: string[] = []
      const times: number[] = []
      const values: string[] = []
      for (const record of records) {
        tenants.push(record.tenant)
        ids.push(record.id)
        times.push(record.at)
        values.push(sealer.sealJson(location(record.tenant, record.id), record))
      }
      // One statement for the batch; an id drawn twice in one ms keeps the first (32 random bits make it rare).
      await client.query(
        'INSERT INTO audit_records (tenant, id, at, record) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[]) ON CONFLICT DO NOTHING',
        [tenants, ids, times, values],
      )
    })
  },

  async read(tenant, { from, to, limit }: AuditRange) {
    const { first, last } = auditIdBounds(from, to)
    return store.sealedRows(`audit ${tenant}`, async (client, sealer) => {
      const { rows } = await client.query<{ id: string; record: unknown }>(
        'SELECT id, record FROM audit_records WHERE tenant = $1 AND id >= $2 AND id <= $3 ORDER BY id LIMIT $4',
        [tenant, first, last, limit + 1],
      )
      return rows.map((row) => sealer.openJson<AuditRecord>(location(tenant, row.id), row.record))
    })
  },

  async tenants() {
    return store.sealedRows('audit tenants', async (client) => {
      const { rows } = await client.query<{ tenant: string }>('SELECT DISTINCT tenant FROM audit_records ORDER BY tenant')
      return rows.map((row) => row.tenant)
    })
  },

  async prune(cutoff) {
    let pruned = 0
    for (;;) {
      const deleted = await store.sealedRows('audit retention', async (client) => {
        const { rowCount } = await client.query('DELETE FROM audit_records WHERE ctid IN (SELECT ctid FROM audit_records WHERE at < $1 LIMIT $2)', [cutoff, PRUNE_BATCH])
        return rowCount ?? 0
      })
      pruned += deleted
      if (deleted < PRUNE_BATCH) return pruned
    }
  },
})
