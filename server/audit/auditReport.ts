import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { AuditLog } from './auditLog.ts'
import type { AuditRecord } from './auditRecord.ts'

/** One report lists at most this many access records (a year of a large tenant is asked in parts). */
export const MAX_REPORT_RECORDS = 100_000
/** Events read per page of a document's log, newest first, until the period's start. */
const EVENT_PAGE = 1_000

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/
const DAY_MS = 24 * 3600 * 1000

/**
 * A report's bound from its ISO 8601 text. A bare date is a whole UTC day: `--from 2026-01-01
 * --to 2026-01-31` covers January to its last millisecond. ERR_BAD_REQUEST otherwise.
 */
export const reportTime = (name: 'from' | 'to', raw: string | null | undefined): number => {
  const at = raw ? Date.parse(raw) : NaN
  if (Number.isNaN(at)) throw new CollabError(ErrorCode.BadRequest, `${name} must be an ISO 8601 time (2026-01-31 or 2026-01-31T12:00:00Z), got ${JSON.stringify(raw ?? '')}`)
  return name === 'to' && DATE_ONLY.test(raw ?? '') ? at + DAY_MS - 1 : at
}

export interface ReportQuery {
  /** ms since the epoch, inclusive. */
  readonly from: number
  readonly to: number
  /** Only this user's records, changes and review decisions. */
  readonly user?: string | null
}

/**
 * One user on one document over the period. A viewer's write is not an access refusal (the
 * connection was admitted; the change was refused by the write path): it is counted as a change,
 * in `readOnly`, apart from the rules' rejections.
 */
export interface ReportRow {
  /** null: a refusal before any token was verified. */
  readonly user: string | null
  /** `<type>/<id>`; null for admin calls on no document. */
  readonly document: string | null
  admitted: number
  refused: number
  /** Refusals by error code. */
  readonly refusedCodes: Record<string, number>
  /** Changes from the document's event log. */
  accepted: number
  rejected: number
  readOnly: number
  held: number
  compensated: number
  adminChanges: number
  /** Review items of this document this user decided in the period. */
  approved: number
  rejectedReviews: number
}

export interface ReportReviewDecision {
  readonly id: string
  readonly document: string
  readonly proposer: string
  readonly decidedBy: string | null
  readonly decidedAt: number
  readonly status: string
  readonly reason: string | null
}

export interface AuditReport {
  readonly tenant: string
  readonly from: string
  readonly to: string
  readonly user: string | null
  readonly rows: ReportRow[]
  readonly reviewDecisions: ReportReviewDecision[]
  /** The access records themselves, oldest first. */
  readonly records: AuditRecord[]
}

/** Where a report reads: the access audit and the documents' event logs and review items. */
export interface ReportSources {
  readonly audit: AuditLog
  readonly store: DocumentStorage
}

/**
 * The compliance report of one tenant over a period: per user and document, the accesses
 * (admitted, refused by code), the changes (the event log's outcomes) and the review decisions;
 * and the raw access records. The admin API (online) and the CLI (offline) both call this.
 */
export const buildAuditReport = async ({ audit, store }: ReportSources, tenant: string, query: ReportQuery): Promise<AuditReport> => {
  const { from, to } = query
  const user = query.user ?? null
  if (!(from <= to)) throw new CollabError(ErrorCode.BadRequest, 'the period ends before it starts')
  const rows = new Map<string, ReportRow>()
  const row = (who: string | null, document: string | null): ReportRow => {
    const key = JSON.stringify([who, document])
    let found = rows.get(key)
    if (!found) {
      found = { user: who, document, admitted: 0, refused: 0, refusedCodes: {}, accepted: 0, rejected: 0, readOnly: 0, held: 0, compensated: 0, adminChanges: 0, approved: 0, rejectedReviews: 0 }
      rows.set(key, found)
    }
    return found
  }

  const read = await audit.read(tenant, { from, to, limit: MAX_REPORT_RECORDS })
  if (read.length > MAX_REPORT_RECORDS) {
    throw new CollabError(ErrorCode.AuditRangeTooLarge, `${tenant} has more than ${MAX_REPORT_RECORDS} access records in this period; ask for a shorter one`)
  }
  const records = user === null ? read : read.filter((record) => record.userId === user)
  for (const record of records) {
    const counts = row(record.userId, record.document)
    // A record that sums up refusals (cut sockets) counts as that many.
    const times = record.count ?? 1
    if (record.outcome === 'admitted') counts.admitted += times
    else {
      counts.refused += times
      const code = record.code ?? 'unknown'
      counts.refusedCodes[code] = (counts.refusedCodes[code] ?? 0) + times
    }
  }

  // The stored documents, and those only accessed: a document a viewer tried to write holds
  // events but no content, and is not among the stored ones.
  const prefix = `${tenant}/`
  const documents = new Set(read.flatMap((record) => (record.action === 'open' && record.outcome === 'admitted' && record.document ? [record.document] : [])))
  for (const storageName of await store.documentNames()) if (storageName.startsWith(prefix)) documents.add(storageName.slice(prefix.length))
  for (const document of [...documents].sort()) {
    const storageName = `${prefix}${document}`
    await eachEventIn(store, storageName, from, to, (event) => {
      if (user === null || event.userId === user) countEvent(row(event.userId, document), event)
    })
  }

  const reviewDecisions: ReportReviewDecision[] = []
  for (const item of await store.listReviews(tenant)) {
    if (item.status === 'pending' || item.decidedAt === undefined || item.decidedAt < from || item.decidedAt > to) continue
    if (user !== null && item.decidedBy !== user && item.proposer.userId !== user) continue
    reviewDecisions.push({ id: item.id, document: item.document, proposer: item.proposer.userId, decidedBy: item.decidedBy ?? null, decidedAt: item.decidedAt, status: item.status, reason: item.reason ?? null })
    if (item.decidedBy !== undefined && (user === null || item.decidedBy === user)) {
      const counts = row(item.decidedBy, item.document)
      if (item.status === 'approved') counts.approved++
      if (item.status === 'rejected') counts.rejectedReviews++
    }
  }
  reviewDecisions.sort((a, b) => a.decidedAt - b.decidedAt)

  const ordered = [...rows.values()].sort((a, b) => compare(a.user, b.user) || compare(a.document, b.document))
  return { tenant, from: new Date(from).toISOString(), to: new Date(to).toISOString(), user, rows: ordered, reviewDecisions, records }
}

const compare = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1)

const countEvent = (counts: ReportRow, event: EventRecord): void => {
  switch (event.outcome) {
    case 'accepted':
      counts.accepted++
      break
    case 'rejected':
      if (event.ruleIds.includes('read-only')) counts.readOnly++
      else counts.rejected++
      break
    case 'review':
      counts.held++
      break
    case 'compensation':
      counts.compensated++
      break
    case 'admin':
      counts.adminChanges++
      break
  }
}

/**
 * Visits a document's events of the period: its log read newest first, a page at a time (events
 * carry their update bytes: never the whole log in memory), up to the first event before the
 * period (events are numbered in the order they were stored, so in time order).
 */
const eachEventIn = async (store: DocumentStorage, storageName: string, from: number, to: number, visit: (event: EventRecord) => void): Promise<void> => {
  let toSeq = await store.lastEventSeq(storageName)
  while (toSeq >= 1) {
    const page = await store.readEvents(storageName, { toSeq, limit: EVENT_PAGE, reverse: true })
    for (const event of page) {
      if (event.at < from) return
      if (event.at <= to) visit(event)
    }
    const oldest = page.at(-1)
    if (page.length < EVENT_PAGE || !oldest) return
    toSeq = oldest.seq - 1
  }
}
