import * as Y from 'yjs'
import { documentTitle } from '../../shared/documentModel.ts'
import { parseDocumentName } from '../../shared/documentName.ts'
import { richTextBlocks, type TextBlock } from '../../shared/richTextBlocks.ts'
import { diffRichText, type DiffBlock } from '../../shared/richTextDiff.ts'
import type { Identity } from '../auth/index.ts'
import type { DocumentSource } from '../admin/documentSource.ts'
import { restoreRichTextTo, type NodeSnapshot } from '../gate/richTextRestore.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import { mayDecide } from './reviewDeciders.ts'
import type { ReviewItem, ReviewStatus } from './reviewItem.ts'

/** One held field as a reviewer reads it: what the document holds now beside what was proposed. */
export type ReviewedChange =
  | { readonly path: string; readonly kind: 'field'; readonly current: unknown; readonly proposed: unknown }
  | {
      readonly path: string
      readonly kind: 'rich-text'
      readonly current: readonly TextBlock[]
      /** null when the proposal could not be stored (see storableRichText). */
      readonly proposed: readonly TextBlock[] | null
      /** Current → proposed, word by word with formats; null without a proposal. */
      readonly diff: readonly DiffBlock[] | null
    }

/** The first change to an item's fields after it was proposed: why approving it would be (or was) stale. */
export interface ChangedSince {
  readonly seq: number
  readonly at: number
  readonly userId: string
  readonly userName?: string
  readonly outcome: EventRecord['outcome']
  readonly paths: readonly string[]
}

/** A review item for the inbox and "my pending changes" (`/api/reviews`). */
export interface ReviewView {
  readonly id: string
  readonly status: ReviewStatus
  readonly ruleId: string
  readonly document: { readonly name: string; readonly type: string; readonly id: string; readonly title: string }
  readonly proposer: { readonly userId: string; readonly name?: string }
  readonly proposedAt: number
  readonly decidedBy?: string
  readonly decidedAt?: number
  readonly reason?: string
  readonly changes: readonly ReviewedChange[]
  readonly changedSince: ChangedSince | null
  /** Whether the caller may approve or reject it. */
  readonly mayDecide: boolean
}

/**
 * How far after a proposal the log is searched for a change to its fields: a field changed that
 * long after its proposal is reported without its author (the answer stays bounded).
 */
const CHANGED_SINCE_EVENTS = 500

/**
 * Review items as people read them: the document's title, each field's current value beside the
 * proposed one (rich text as readable blocks and a formatted diff), and the change that moved a
 * field since the proposal. Reads each document once (a live one in its room, else from the store).
 */
export const reviewViews = async (source: DocumentSource, viewer: Identity, items: readonly ReviewItem[]): Promise<ReviewView[]> => {
  const byDocument = new Map<string, ReviewItem[]>()
  for (const item of items) byDocument.set(item.document, [...(byDocument.get(item.document) ?? []), item])
  const views = new Map<string, ReviewView>()
  for (const [name, documentItems] of byDocument) {
    const document = parseDocumentName(name)
    const read = await source.read(viewer.tenant, document, (doc) => ({
      title: documentTitle(doc, document.type),
      changes: new Map(documentItems.map((item) => [item.id, item.changes.map((change) => reviewedChange(doc, change))])),
    }))
    for (const item of documentItems) {
      const changedSince = await firstChangeSince(source, viewer.tenant, item)
      views.set(item.id, {
        id: item.id,
        status: item.status,
        ruleId: item.ruleId,
        document: { name, type: document.type, id: document.id, title: read.title },
        proposer: { userId: item.proposer.userId, ...(item.proposer.name ? { name: item.proposer.name } : {}) },
        proposedAt: item.proposedAt,
        ...(item.decidedBy !== undefined ? { decidedBy: item.decidedBy } : {}),
        ...(item.decidedAt !== undefined ? { decidedAt: item.decidedAt } : {}),
        ...(item.reason !== undefined ? { reason: item.reason } : {}),
        changes: read.changes.get(item.id) ?? [],
        changedSince,
        mayDecide: item.status === 'pending' && mayDecide(viewer, item),
      })
    }
  }
  return items.map((item) => views.get(item.id)!)
}

const reviewedChange = (doc: Y.Doc, change: ReviewItem['changes'][number]): ReviewedChange => {
  if (change.key !== null) {
    const current = doc.share.has(change.root) ? doc.getMap<unknown>(change.root).get(change.key) : undefined
    return { path: change.path, kind: 'field', current: current ?? null, proposed: change.proposedValue ?? null }
  }
  const current = richTextBlocks(doc.getXmlFragment(change.root))
  const proposed = proposedBlocks(change.proposedValue)
  return { path: change.path, kind: 'rich-text', current, proposed, diff: proposed ? diffRichText(current, proposed) : null }
}

/** A stored rich-text proposal as blocks: built into a scratch document (its tree is the proposal's ids' copies). */
const proposedBlocks = (proposal: unknown): TextBlock[] | null => {
  if (!Array.isArray(proposal)) return null
  const scratch = new Y.Doc()
  try {
    const fragment = scratch.getXmlFragment('proposal')
    scratch.transact(() => restoreRichTextTo(fragment, proposal as NodeSnapshot[]))
    return richTextBlocks(fragment)
  } finally {
    scratch.destroy()
  }
}

/** The first accepted or admin change to one of the item's fields after its proposal (not its own approval). */
const firstChangeSince = async (source: DocumentSource, tenant: string, item: ReviewItem): Promise<ChangedSince | null> => {
  const paths = new Set(item.changes.map((change) => change.path))
  const events = await source.store.readEvents(`${tenant}/${item.document}`, { fromSeq: item.eventSeq + 1, limit: CHANGED_SINCE_EVENTS })
  for (const event of events) {
    if (event.reviewId === item.id || (event.outcome !== 'accepted' && event.outcome !== 'admin')) continue
    if (event.paths.some((path) => paths.has(path))) {
      return { seq: event.seq, at: event.at, userId: event.userId, ...(event.userName ? { userName: event.userName } : {}), outcome: event.outcome, paths: event.paths }
    }
  }
  return null
}
