import { parseDocumentName } from '../../shared/documentName.ts'
import { AdminOperations } from '../admin/adminOperations.ts'
import { storedDocuments } from '../admin/storedDocuments.ts'
import type { DocumentSummary } from '../persistence/documentSummaries.ts'
import type { VerificationReport } from '../admin/documentVerification.ts'
import type { ConflictRecord as Conflict } from '../../shared/conflictRecord.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { PostgresStorage } from '../persistence/postgres/postgresStorage.ts'
import type { EventBase, EventRecord } from '../persistence/eventLog.ts'
import type { Decision } from '../reviews/reviewDecisions.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import type { AdminClient } from './adminClient.ts'
import { auditedCliAction } from '../audit/cliActions.ts'
import { auditLogFor } from '../audit/auditStorage.ts'
import { buildAuditReport, type AuditReport, type ReportQuery } from '../audit/auditReport.ts'

export type EventSummary = Omit<EventRecord, 'update'>

export interface EventLog {
  readonly base: EventBase | null
  readonly events: readonly EventRecord[]
}

/**
 * Where the CLI reads documents from: a running server (admin API) or, when the server is
 * stopped, its data directory. The same commands work on both, and run the same operations
 * (AdminOperations): the server runs them for the admin API, the CLI itself offline.
 */
export interface DataSource {
  listDocuments(type?: string): Promise<DocumentSummary[]>
  /** The event log with its update bytes (for time travel). */
  eventLog(name: string): Promise<EventLog>
  verify(name: string): Promise<VerificationReport>
  showDocument(name: string): Promise<Record<string, unknown>>
  /** The document's whole state as a Yjs update, and as plain JSON. */
  exportDocument(name: string): Promise<{ content: Record<string, unknown>; update: Uint8Array }>
  importDocument(name: string, update: Uint8Array): Promise<void>
  compact(name: string): Promise<void>
  listReviews(): Promise<ReviewItem[]>
  getReview(id: string): Promise<ReviewItem>
  decideReview(id: string, decision: Decision): Promise<ReviewItem>
  revert(name: string, seq: number): Promise<{ document: string; revertedTo: number; paths: string[] }>
  history(name: string): Promise<EventSummary[]>
  conflicts(name: string): Promise<Conflict[]>
  /** The access audit report of the tenant (online: the token's) over a period. */
  auditReport(query: ReportQuery): Promise<AuditReport>
  close(): Promise<void>
}

/** Events per admin API request (the API's own default page). */
const EVENT_PAGE = 1000

/**
 * The whole event log through the admin API, page by page (it answers at most a page per request):
 * each page starts after the last event of the one before, so the loop ends.
 */
const onlineEventLog = async (client: AdminClient, name: string): Promise<EventLog> => {
  type Wire = { base: { seq: number; update: string } | null; events: Array<EventSummary & { update: string }> }
  const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))
  const path = `/docs/${parseDocumentName(name).name}/events`
  const events: EventRecord[] = []
  let base: EventBase | null = null
  for (let from = 1; ; ) {
    const page = await client.request<Wire>('GET', `${path}?from=${from}&limit=${EVENT_PAGE}`)
    if (from === 1) base = page.base && { seq: page.base.seq, update: bytes(page.base.update) }
    for (const event of page.events) events.push({ ...event, update: bytes(event.update) })
    const last = page.events.at(-1)
    if (page.events.length < EVENT_PAGE || !last) return { base, events }
    from = last.seq + 1
  }
}

export const onlineSource = (client: AdminClient): DataSource => ({
  listDocuments: async (type) =>
    (await client.request<{ documents: DocumentSummary[] }>('GET', `/docs${type ? `?type=${encodeURIComponent(type)}` : ''}`)).documents,
  showDocument: async (name) => (await client.request<{ content: Record<string, unknown> }>('GET', `/docs/${parseDocumentName(name).name}`)).content,
  exportDocument: async (name) => {
    const { content, update } = await client.request<{ content: Record<string, unknown>; update: string }>('GET', `/docs/${parseDocumentName(name).name}`)
    return { content, update: new Uint8Array(Buffer.from(update, 'base64')) }
  },
  importDocument: async (name, update) => {
    await client.request('POST', `/docs/${parseDocumentName(name).name}/import`, { update: Buffer.from(update).toString('base64') })
  },
  compact: async (name) => {
    await client.request('POST', `/docs/${parseDocumentName(name).name}/compact`)
  },
  listReviews: async () => (await client.request<{ reviews: ReviewItem[] }>('GET', '/reviews')).reviews,
  getReview: (id) => client.request<ReviewItem>('GET', `/reviews/${encodeURIComponent(id)}`),
  decideReview: (id, decision) =>
    client.request<ReviewItem>('POST', `/reviews/${encodeURIComponent(id)}/${decision.kind}`, decision.kind === 'reject' ? { reason: decision.reason } : undefined),
  revert: (name, seq) => client.request<{ document: string; revertedTo: number; paths: string[] }>('POST', `/docs/${parseDocumentName(name).name}/revert`, { seq }),
  history: async (name) => (await onlineEventLog(client, name)).events.map(({ update: _update, ...meta }) => meta),
  eventLog: (name) => onlineEventLog(client, name),
  verify: async (name) => client.request<VerificationReport>('GET', `/docs/${parseDocumentName(name).name}/verify`),
  conflicts: async (name) => (await client.request<{ conflicts: Conflict[] }>('GET', `/docs/${parseDocumentName(name).name}/conflicts`)).conflicts,
  auditReport: ({ from, to, user }) => {
    const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...(user ? { user } : {}) })
    return client.request<AuditReport>('GET', `/audit/report?${query}`)
  },
  close: async () => {},
})

/** Where the offline CLI finds the documents: a stopped server's data directory, or a PostgreSQL database. */
export type StoreLocation = ({ readonly dataDir: string } | { readonly postgresUrl: string }) & {
  /** Encryption at rest: the store's master key (an encrypted store does not open without it). */
  readonly masterKey?: Buffer | null
  /** Older keys (the rest of a master key file during a rotation): the store opens with any, re-wrapped under `masterKey`. */
  readonly formerMasterKeys?: readonly Buffer[]
}

/** Opens the store at `where` (a data directory fails with ERR_DATA_DIR_LOCKED while a server runs on it). */
export const openStoreAt = (where: StoreLocation): Promise<DocumentStorage> => {
  const atRest = { masterKey: where.masterKey ?? null, formerMasterKeys: where.formerMasterKeys ?? [] }
  return 'postgresUrl' in where ? PostgresStorage.open(where.postgresUrl, { atRest }) : DocumentStore.open(where.dataDir, { atRest })
}

/**
 * The stored documents, without a server: the same operations the admin API runs; changes are
 * recorded as `admin`. On PostgreSQL a change claims the document (its next epoch), so a server
 * that has it loaded meanwhile has its next write refused and its clients reload it.
 */
export const offlineSource = async (where: StoreLocation, tenant: string, admin: string, command: string): Promise<DataSource> => {
  const store = await openStoreAt(where)
  const operations = new AdminOperations(storedDocuments(store))
  const actor = { tenant, userId: admin, device: null }
  const document = parseDocumentName
  // Offline there is no server to record a change in the access audit: the CLI does, in the store.
  const audited = <T>(changed: string | null, run: () => Promise<T>): Promise<T> => auditedCliAction(store, { tenant, admin, command, document: changed }, run)
  return {
    auditReport: (query) => buildAuditReport({ audit: auditLogFor(store), store }, tenant, query),
    listDocuments: (type) => operations.listDocuments(tenant, type),
    showDocument: async (name) => (await operations.showDocument(tenant, document(name))).content,
    exportDocument: (name) => operations.showDocument(tenant, document(name)),
    importDocument: async (name, update) => {
      await audited(name, () => operations.importUpdate(actor, document(name), update))
    },
    compact: async (name) => {
      await audited(name, () => operations.compact(tenant, document(name)))
    },
    listReviews: () => operations.listReviews(tenant),
    getReview: (id) => operations.getReview(tenant, id),
    decideReview: async (id, decision) => audited((await store.getReview(tenant, id))?.document ?? null, () => operations.decideReview(actor, id, decision)),
    revert: (name, seq) => audited(name, () => operations.revert(actor, document(name), seq)),
    history: async (name) => (await operations.events(tenant, document(name))).events.map(({ update: _update, ...meta }) => meta),
    eventLog: (name) => operations.events(tenant, document(name)),
    verify: (name) => operations.verify(tenant, document(name)),
    conflicts: (name) => operations.conflicts(tenant, document(name)),
    close: () => store.close(),
  }
}
