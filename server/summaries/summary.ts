import type * as Y from 'yjs'
import { documentTitle } from '../../shared/documentModel.ts'
import type { DocumentType } from '../../shared/documentName.ts'

/**
 * What the document list shows of one document, kept by the server as the document changes
 * (summaryKeeper.ts), so listing never loads a document. Every string is cut to a bound and the
 * team to MAX_TEAM: a summary's size does not depend on what a client wrote.
 */
export interface Summary {
  /** `<type>/<id>`. */
  readonly name: string
  readonly type: DocumentType
  readonly title: string
  /** A proposal's status; null for other types (or not set). */
  readonly status: string | null
  /** A proposal's owner (user id). */
  readonly owner: string | null
  /** A proposal's customer (`customer/<id>` is its document). */
  readonly customerId: string | null
  /** A proposal's financial value, and its currency. */
  readonly value: number | null
  readonly currency: string | null
  /** A proposal's team (user ids): "mine" lists these, and a user added to it is notified. */
  readonly team: readonly string[]
  /** The last change to the content: when, and by whom (`server` for the server's own). */
  readonly lastChange: { readonly at: number; readonly userId: string } | null
  /** Archived (by a manager or admin): left out of the default list, history kept. */
  readonly archived: { readonly at: number; readonly by: string } | null
  /** The event-log sequence number this summary is current with: one below the log's is stale. */
  readonly seq: number
}

/** Longest text kept per field (the schemas' limit for titles; ids are 128 at most). */
export const MAX_SUMMARY_TEXT = 200
export const MAX_TEAM = 100

/** The fields a summary takes from the document's content (cost: a few map reads and the title's text). */
export type SummaryContent = Pick<Summary, 'title' | 'status' | 'owner' | 'customerId' | 'value' | 'currency' | 'team'>

export const summarizeContent = (doc: Y.Doc, type: DocumentType): SummaryContent => {
  const title = cut(documentTitle(doc, type))
  if (type !== 'proposal') return { title, status: null, owner: null, customerId: null, value: null, currency: null, team: [] }
  const meta = mapReader(doc, 'meta')
  const value = mapReader(doc, 'financial')('value')
  const team: string[] = []
  if (doc.share.has('team')) {
    for (const userId of doc.getMap('team').keys()) {
      if (team.length >= MAX_TEAM) break
      team.push(cut(userId))
    }
  }
  return {
    title,
    status: textOrNull(meta('status')),
    owner: textOrNull(meta('ownerId')),
    customerId: textOrNull(meta('customerId')),
    value: typeof value === 'number' && Number.isFinite(value) ? value : null,
    currency: textOrNull(meta('currency')),
    team: team.sort(),
  }
}

/** Reads a map root's keys without creating the root in a document that lacks it. */
const mapReader = (doc: Y.Doc, root: string) => {
  const map = doc.share.has(root) ? doc.getMap<unknown>(root) : null
  return (key: string): unknown => map?.get(key)
}

const textOrNull = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? cut(value) : null)

const cut = (text: string): string => (text.length > MAX_SUMMARY_TEXT ? text.slice(0, MAX_SUMMARY_TEXT) : text)

/** A stored summary as read back (JSON): anything else is dropped (and rebuilt), never trusted. */
export const parseSummary = (value: unknown): Summary | null => {
  if (typeof value !== 'object' || value === null) return null
  const summary = value as Summary
  if (typeof summary.name !== 'string' || typeof summary.title !== 'string' || typeof summary.seq !== 'number' || !Array.isArray(summary.team)) return null
  return summary
}
