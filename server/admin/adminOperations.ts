import * as Y from 'yjs'
import { documentToJSON, rootNames } from '../../shared/documentModel.ts'
import type { DocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { revertTo } from './documentRevert.ts'
import { listDocuments, type DocumentSummary } from '../persistence/documentSummaries.ts'
import { verifyDocument, type VerificationReport } from './documentVerification.ts'
import type { ConflictRecord as Conflict } from '../../shared/conflictRecord.ts'
import { missingDependencies } from '../gate/missingDependencies.ts'
import { documentAsOf, type EventBase, type EventRecord } from '../persistence/eventLog.ts'
import { ReviewDecisions, type Decision } from '../reviews/reviewDecisions.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { checkUpdateStructure } from '../protocol/updateGuard.ts'
import { checkNestingDepth } from '../gate/nestingDepth.ts'
import { DEFAULT_CONFIG } from '../config.ts'
import type { AdminActor, DocumentSource, LiveClient } from './documentSource.ts'

/**
 * Every admin operation, once: the admin HTTP API calls these on the running server's documents,
 * the CLI offline on a stopped server's data directory (see DocumentSource). A change is an
 * audited `admin` event stored in the same atomic batch as the update it made.
 */
export class AdminOperations {
  private readonly reviews: ReviewDecisions

  constructor(
    private readonly source: DocumentSource,
    /** Imports nest no deeper than peers may (a tree too deep overflows every walker). */
    private readonly maxRichTextDepth: number = DEFAULT_CONFIG.maxRichTextDepth,
  ) {
    this.reviews = new ReviewDecisions(source)
  }

  /** Review items, oldest first. */
  async listReviews(tenant: string, status?: string): Promise<ReviewItem[]> {
    const items = await this.source.store.listReviews(tenant)
    return items.filter((item) => !status || item.status === status).sort((a, b) => a.proposedAt - b.proposedAt)
  }

  async getReview(tenant: string, id: string): Promise<ReviewItem> {
    const item = await this.source.store.getReview(tenant, id)
    if (!item) throw new CollabError(ErrorCode.ReviewNotFound, `no review item ${id}`)
    return item
  }

  decideReview(admin: AdminActor, id: string, decision: Decision): Promise<ReviewItem> {
    return this.reviews.decide(admin, id, decision)
  }

  async listDocuments(tenant: string, type?: string): Promise<DocumentSummary[]> {
    const summaries = await listDocuments(this.source.store, tenant, (name) => this.source.connections(tenant, name))
    return summaries.filter((doc) => !type || doc.type === type)
  }

  /** The document as plain JSON (every root type) and its whole state as a Yjs update. */
  showDocument(tenant: string, document: DocumentName): Promise<{ name: string; content: Record<string, unknown>; update: Uint8Array }> {
    return this.source.read(tenant, document, (doc) => ({ name: document.name, content: documentToJSON(document.type, doc), update: Y.encodeStateAsUpdate(doc) }))
  }

  /** The event log from `fromSeq` to `toSeq` (at most `limit` events), and its retention base. */
  async events(tenant: string, document: DocumentName, range: { fromSeq?: number; toSeq?: number; limit?: number } = {}): Promise<{ base: EventBase | null; events: EventRecord[] }> {
    const storageName = `${tenant}/${document.name}`
    const [base, events] = await Promise.all([this.source.store.eventBase(storageName), this.source.store.readEvents(storageName, range)])
    return { base, events }
  }

  verify(tenant: string, document: DocumentName): Promise<VerificationReport> {
    return verifyDocument(this.source.store, tenant, document.type, document.name)
  }

  conflicts(tenant: string, document: DocumentName): Promise<Conflict[]> {
    return this.source.store.listConflicts(`${tenant}/${document.name}`)
  }

  async compact(tenant: string, document: DocumentName): Promise<{ document: string; compacted: true }> {
    await this.source.compact(tenant, document)
    return { document: document.name, compacted: true }
  }

  clients(tenant: string): LiveClient[] {
    return this.source.clients(tenant)
  }

  /**
   * Restores the state as of event `seq` as a new audited change (outcome `admin`, rule `revert`):
   * history is kept, not rewritten, and online every connected client receives it live.
   */
  async revert(admin: AdminActor, document: DocumentName, seq: number): Promise<{ document: string; revertedTo: number; paths: string[] }> {
    const storageName = `${admin.tenant}/${document.name}`
    const [base, events] = await Promise.all([this.source.store.eventBase(storageName), this.source.store.readEvents(storageName, { toSeq: seq })])
    if ((events.at(-1)?.seq ?? base?.seq ?? 0) !== seq) throw new CollabError(ErrorCode.BadRequest, `${document.name} has no event ${seq} in its retained history`)
    const target = documentAsOf(base, events, seq)
    try {
      const paths = await this.source.change(
        admin.tenant,
        document,
        (doc) => revertTo(doc, target, document.type),
        ({ update, nextSeq }, changed) => ({ events: [adminEvent(admin, nextSeq(), update, ['revert'], changed)], reviews: [] }),
      )
      return { document: document.name, revertedTo: seq, paths }
    } finally {
      target.destroy()
    }
  }

  /**
   * Merges an exported Yjs state into a document as an audited change (rule `import`). Checked like
   * an update off the network first: its structure, that it writes only the document type's roots,
   * and that it brings everything it depends on (otherwise Yjs would keep part of it pending).
   */
  async importUpdate(admin: AdminActor, document: DocumentName, update: Uint8Array): Promise<{ document: string; imported: true; content: Record<string, unknown> }> {
    const check = checkUpdateStructure(update)
    if (!check.ok) throw new CollabError(check.code, check.message)
    const { maps, richText, text } = rootNames(document.type)
    const known = [...maps, ...richText, ...text]
    const foreign = [...check.roots].find((root) => !known.includes(root))
    if (foreign !== undefined) throw new CollabError(ErrorCode.UnknownRoot, `a ${document.type} has no "${foreign.slice(0, 40)}"; it has ${known.join(', ')}`)
    const content = await this.source.change(
      admin.tenant,
      document,
      (doc) => {
        const missing = missingDependencies(doc, check.dependencies)
        if (missing !== null) throw new CollabError(ErrorCode.ImportIncomplete, `the import depends on changes ${document.name} does not have (${missing})`)
        const tooDeep = checkNestingDepth(doc, update, this.maxRichTextDepth)
        if (tooDeep) throw tooDeep
        Y.applyUpdate(doc, update)
        return documentToJSON(document.type, doc)
      },
      ({ update: merged, nextSeq }) => ({ events: [adminEvent(admin, nextSeq(), merged, ['import'], [])], reviews: [] }),
    )
    return { document: document.name, imported: true, content }
  }
}

const adminEvent = (admin: AdminActor, seq: number, update: Uint8Array, ruleIds: string[], paths: string[]): EventRecord => ({
  seq,
  at: Date.now(),
  userId: admin.userId,
  device: admin.device,
  outcome: 'admin',
  ruleIds,
  paths,
  update,
  applied: true,
})
