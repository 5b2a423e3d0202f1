import type { LogOp } from '../persistence/writeAheadLog.ts'
import type { AuditLog, AuditRange } from './auditLog.ts'
import { auditIdBounds, type AuditRecord } from './auditRecord.ts'

/** The part of the LevelDB store the audit uses: keys of no document, sealed like every value. */
export interface DirectKeys {
  readRange(label: string, range: { gt: Array<string | number>; lt: Array<string | number> }): Promise<Array<[Array<string | number>, Uint8Array]>>
  writeDirect(label: string, ops: readonly LogOp[]): Promise<void>
}

/**
 * Access records in the store's own LevelDB, in two key ranges of their own (y-leveldb's key
 * encoding: length-prefixed strings, so same-length ids sort by their characters):
 *
 *   ['posalpro_audit', tenant, id]             the record (JSON), id = `<ms>-<random>`: sorted by time
 *   ['posalpro_audit_days', tenant, 'YYYY-MM-DD']  which days of a tenant hold records
 *
 * The day index bounds every read: a report reads its range a day at a time and stops at its
 * limit; retention deletes whole days before the cutoff (and the cutoff day's older records)
 * without scanning what it keeps. A tenant id is the key's second element, so the store seals the
 * values with that tenant's data key (tenant `-`: refusals before a token was verified).
 */
const RECORDS = 'posalpro_audit'
const DAYS = 'posalpro_audit_days'
const DAY_MS = 24 * 3600 * 1000

const day = (at: number): string => new Date(at).toISOString().slice(0, 10)
const dayStart = (name: string): number => Date.parse(`${name}T00:00:00.000Z`)
const encode = (record: AuditRecord): Uint8Array => Buffer.from(JSON.stringify(record))
const decode = (value: Uint8Array): AuditRecord => JSON.parse(Buffer.from(value).toString('utf8')) as AuditRecord
/** A number element sorts after every string at the same position: the end of a tenant's range. */
const END = 0xffffffff

export const levelDbAuditLog = (store: DirectKeys): AuditLog => {
  /** The days of one tenant (or every tenant) that hold records. */
  const days = async (tenant: string | null): Promise<Array<{ tenant: string; day: string }>> => {
    const range = tenant === null ? { gt: [DAYS], lt: [DAYS, END] } : { gt: [DAYS, tenant], lt: [DAYS, tenant, END] }
    return (await store.readRange('audit days', range)).map(([key]) => ({ tenant: String(key[1]), day: String(key[2]) }))
  }
  const recordsBetween = async (tenant: string, from: number, to: number): Promise<Array<[Array<string | number>, Uint8Array]>> => {
    const { first, last } = auditIdBounds(from, to)
    // gt/lt are exclusive: step one character outside the inclusive bounds (ids have one length).
    return (await store.readRange(`audit ${tenant}`, { gt: [RECORDS, tenant, `${first.slice(0, -1)}/`], lt: [RECORDS, tenant, `${last.slice(0, -1)}g`] }))
  }

  return {
    async append(records) {
      if (records.length === 0) return
      const ops: LogOp[] = []
      const marked = new Set<string>()
      for (const record of records) {
        ops.push({ type: 'put', key: [RECORDS, record.tenant, record.id], value: encode(record) })
        const mark = `${record.tenant}\n${day(record.at)}`
        if (marked.has(mark)) continue
        marked.add(mark)
        ops.push({ type: 'put', key: [DAYS, record.tenant, day(record.at)], value: new Uint8Array(0) })
      }
      await store.writeDirect('audit records', ops)
    },

    async read(tenant, { from, to, limit }: AuditRange) {
      const found: AuditRecord[] = []
      for (const { day: name } of await days(tenant)) {
        const start = dayStart(name)
        if (start + DAY_MS <= from || start > to) continue
        for (const [, value] of await recordsBetween(tenant, Math.max(from, start), Math.min(to, start + DAY_MS - 1))) {
          found.push(decode(value))
          if (found.length > limit) return found
        }
      }
      return found
    },

    async tenants() {
      return [...new Set((await days(null)).map((entry) => entry.tenant))].sort()
    },

    async prune(cutoff) {
      let pruned = 0
      for (const { tenant, day: name } of await days(null)) {
        const start = dayStart(name)
        if (start >= cutoff) continue
        const whole = start + DAY_MS <= cutoff
        const expired = await recordsBetween(tenant, start, Math.min(cutoff - 1, start + DAY_MS - 1))
        const ops: LogOp[] = expired.map(([key]) => ({ type: 'del', key }))
        if (whole) ops.push({ type: 'del', key: [DAYS, tenant, name] })
        await store.writeDirect(`audit retention ${tenant} ${name}`, ops)
        pruned += expired.length
      }
      return pruned
    },
  }
}
