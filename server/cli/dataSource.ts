import { documentToJSON } from '../../shared/documentModel.ts'
import { parseDocumentName } from '../../shared/documentName.ts'
import { listDocuments, type DocumentSummary } from '../documentSummaries.ts'
import type { Conflict } from '../gate/conflicts.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { documentAsOf, type EventBase, type EventRecord } from '../persistence/eventLog.ts'
import { verifyDocument, type VerificationReport } from '../documentVerification.ts'
import type { AdminClient } from './adminClient.ts'
import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { applyProposal, proposalIsStale, type Decision } from '../reviews/reviewDecisions.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { revertTo } from '../documentRevert.ts'
import { checkUpdateStructure } from '../updateGuard.ts'

export type EventSummary = Omit<EventRecord, 'update'>

/**
 * Where the CLI reads documents from: a running server (admin API) or, when the server is
 * stopped, its data directory. The same commands work on both.
 */
export interface EventLog {
  readonly base: EventBase | null
  readonly events: readonly EventRecord[]
}

export interface DataSource {
  listDocuments(type?: string): Promise<DocumentSummary[]>
  /** The event log with its update bytes (for time travel). */
  eventLog(name: string): Promise<EventLog>
  verify(name: string): Promise<VerificationReport>
  showDocument(name: string): Promise<Record<string, unknown>>
  /** The document's whole state as a Yjs update, and as plain JSON. */
  exportDocument(name: string): Promise<{ content: Record<string, unknown>; update: Uint8Array }>
  importDocument(name: string, update: Uint8Array, admin: string): Promise<void>
  compact(name: string): Promise<void>
  listReviews(): Promise<ReviewItem[]>
  getReview(id: string): Promise<ReviewItem>
  decideReview(id: string, decision: Decision, admin: string): Promise<ReviewItem>
  revert(name: string, seq: number, admin: string): Promise<{ revertedTo: number; paths: string[] }>
  history(name: string): Promise<EventSummary[]>
  conflicts(name: string): Promise<Conflict[]>
  close(): Promise<void>
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
  revert: (name, seq) => client.request<{ revertedTo: number; paths: string[] }>('POST', `/docs/${parseDocumentName(name).name}/revert`, { seq }),
  history: async (name) => (await client.request<{ events: EventSummary[] }>('GET', `/docs/${parseDocumentName(name).name}/events`)).events,
  eventLog: async (name) => {
    type Wire = { base: { seq: number; update: string } | null; events: Array<EventSummary & { update: string }> }
    const { base, events } = await client.request<Wire>('GET', `/docs/${parseDocumentName(name).name}/events`)
    const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))
    return { base: base && { seq: base.seq, update: bytes(base.update) }, events: events.map((event) => ({ ...event, update: bytes(event.update) })) }
  },
  verify: async (name) => client.request<VerificationReport>('GET', `/docs/${parseDocumentName(name).name}/verify`),
  conflicts: async (name) => (await client.request<{ conflicts: Conflict[] }>('GET', `/docs/${parseDocumentName(name).name}/conflicts`)).conflicts,
  close: async () => {},
})

/**
 * A server change made offline: applied to the stored document with a fresh client id, stored as
 * one atomic batch with its `admin` event (and any decided review item), like the server would.
 */
const changeStoredDocument = async (
  store: DocumentStore,
  storageName: string,
  doc: Y.Doc,
  change: (doc: Y.Doc) => string[] | void,
  { admin, ruleIds, paths: knownPaths, reviews }: { admin: string; ruleIds: string[]; paths: string[]; reviews: ReviewItem[] },
): Promise<void> => {
  const before = Y.encodeStateVector(doc)
  let paths = knownPaths
  doc.transact(() => {
    paths = change(doc) ?? knownPaths
  })
  const update = Y.encodeStateAsUpdate(doc, before)
  const seq = (await store.lastEventSeq(storageName)) + 1
  const event = { seq, at: Date.now(), userId: admin, device: null, outcome: 'admin' as const, ruleIds, paths, update, applied: true }
  await store.appendBatch(storageName, { update, events: [event], reviews })
}

/** Opens the data directory (fails with ERR_DATA_DIR_LOCKED while a server runs on it). */
export const offlineSource = async (dataDir: string, tenant: string): Promise<DataSource> => {
  const store = await DocumentStore.open(dataDir)
  const storageName = (name: string) => `${tenant}/${parseDocumentName(name).name}`
  return {
    listDocuments: async (type) => (await listDocuments(store, tenant)).filter((doc) => !type || doc.type === type),
    showDocument: async (name) => documentToJSON(parseDocumentName(name).type, (await store.loadDoc(storageName(name))).doc),
    exportDocument: async (name) => {
      const { doc } = await store.loadDoc(storageName(name))
      return { content: documentToJSON(parseDocumentName(name).type, doc), update: Y.encodeStateAsUpdate(doc) }
    },
    importDocument: async (name, update, admin) => {
      const check = checkUpdateStructure(update)
      if (!check.ok) throw new CollabError(check.code, check.message)
      const seq = (await store.lastEventSeq(storageName(name))) + 1
      const event = { seq, at: Date.now(), userId: admin, device: null, outcome: 'admin' as const, ruleIds: ['import'], paths: [], update, applied: true }
      await store.appendBatch(storageName(name), { update, events: [event] })
    },
    compact: async (name) => void (await store.compact(storageName(name))),
    listReviews: async () => (await store.listReviews(tenant)).sort((a, b) => a.proposedAt - b.proposedAt),
    getReview: async (id) => {
      const item = await store.getReview(tenant, id)
      if (!item) throw new CollabError(ErrorCode.ReviewNotFound, `no review item ${id}`)
      return item
    },
    decideReview: async (id, decision, admin) => {
      const item = await store.getReview(tenant, id)
      if (!item) throw new CollabError(ErrorCode.ReviewNotFound, `no review item ${id}`)
      if (item.status !== 'pending') throw new CollabError(ErrorCode.ReviewAlreadyDecided, `review item ${id} is already ${item.status}`)
      const decided = { decidedBy: admin, decidedAt: Date.now() }
      if (decision.kind === 'reject') {
        const rejected: ReviewItem = { ...item, ...decided, status: 'rejected', reason: decision.reason }
        await store.putReview(rejected)
        return rejected
      }
      const { doc } = await store.loadDoc(`${tenant}/${item.document}`)
      if (proposalIsStale(doc, item)) {
        const stale: ReviewItem = { ...item, ...decided, status: 'stale' }
        await store.putReview(stale)
        return stale
      }
      const approved: ReviewItem = { ...item, ...decided, status: 'approved' }
      await changeStoredDocument(store, `${tenant}/${item.document}`, doc, (d) => applyProposal(d, item), {
        admin,
        ruleIds: [item.ruleId],
        paths: item.changes.map((change) => change.path),
        reviews: [approved],
      })
      return approved
    },
    revert: async (name, seq, admin) => {
      const document = parseDocumentName(name)
      const [{ doc }, base, events] = await Promise.all([
        store.loadDoc(storageName(name)),
        store.eventBase(storageName(name)),
        store.readEvents(storageName(name), { toSeq: seq }),
      ])
      if ((events.at(-1)?.seq ?? base?.seq ?? 0) !== seq) throw new CollabError(ErrorCode.BadRequest, `${document.name} has no event ${seq} in its retained history`)
      let paths: string[] = []
      await changeStoredDocument(store, storageName(name), doc, (d) => (paths = revertTo(d, documentAsOf(base, events, seq), document.type)), {
        admin,
        ruleIds: ['revert'],
        paths: [],
        reviews: [],
      })
      return { revertedTo: seq, paths }
    },
    history: async (name) => (await store.readEvents(storageName(name))).map(({ update: _update, ...meta }) => meta),
    eventLog: async (name) => {
      const [base, events] = await Promise.all([store.eventBase(storageName(name)), store.readEvents(storageName(name))])
      return { base, events }
    },
    verify: async (name) => {
      const document = parseDocumentName(name)
      return verifyDocument(store, tenant, document.type, document.name)
    },
    conflicts: async (name) => store.listConflicts(storageName(name)),
    close: () => store.close(),
  }
}
