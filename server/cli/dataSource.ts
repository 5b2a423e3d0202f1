import { documentToJSON } from '../../shared/documentModel.ts'
import { parseDocumentName } from '../../shared/documentName.ts'
import { listDocuments, type DocumentSummary } from '../documentSummaries.ts'
import type { Conflict } from '../gate/conflicts.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import type { EventBase, EventRecord } from '../persistence/eventLog.ts'
import { verifyDocument, type VerificationReport } from '../documentVerification.ts'
import type { AdminClient } from './adminClient.ts'
import * as Y from 'yjs'
import { CollabError } from '../../shared/errors.ts'
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
    compact: (name) => store.compact(storageName(name)),
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
