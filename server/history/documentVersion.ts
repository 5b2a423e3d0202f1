import { isDeepStrictEqual } from 'node:util'
import type * as Y from 'yjs'
import { readTextField, rootNames } from '../../shared/documentModel.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { EDITED_AT_ROOT } from '../../shared/editTimes.ts'
import { richTextBlocks, type TextBlock } from '../../shared/richTextBlocks.ts'
import { diffRichText, type DiffBlock } from '../../shared/richTextDiff.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { documentAsOf, type EventRecord } from '../persistence/eventLog.ts'

/**
 * A version is the document after one step of its log: an event and the server's own changes
 * written in the same step (the compensation of a refused edit, the later write of a conflict),
 * which follow it directly. So the version "as of" a held or rejected change is what everyone had
 * after it — its refused value never was the document's, and is not shown as if it had been.
 */
const stepEnd = (events: readonly EventRecord[], seq: number): number => {
  let end = seq
  for (const event of events) {
    if (event.seq <= end) continue
    if (event.seq === end + 1 && event.userId === 'server' && event.outcome !== 'accepted') end = event.seq
    else break
  }
  return end
}

/** How many events after a point may belong to its step (compensation, later write, legacy fold). */
const STEP_EVENTS = 4

/** The document as of event `seq` (see stepEnd); 404 ERR_EVENT_NOT_FOUND outside the retained history. */
export const versionAt = async (store: DocumentStorage, storageName: string, seq: number): Promise<{ doc: Y.Doc; event: EventRecord | null; through: number }> => {
  const [base, events] = await Promise.all([store.eventBase(storageName), store.readEvents(storageName, { toSeq: seq + STEP_EVENTS })])
  const event = events.find((candidate) => candidate.seq === seq) ?? null
  if (!event && base?.seq !== seq) throw new CollabError(ErrorCode.EventNotFound, `${storageName.split('/').slice(1).join('/')} has no event ${seq} in its retained history${base ? ` (it starts at ${base.seq})` : ''}`)
  const through = stepEnd(events, seq)
  return { doc: documentAsOf(base, events, through), event, through }
}

/** One field of a version as a reader sees it. */
export type VersionField =
  | { readonly path: string; readonly kind: 'field'; readonly value: unknown }
  | { readonly path: string; readonly kind: 'text'; readonly value: string }
  | { readonly path: string; readonly kind: 'rich-text'; readonly value: readonly TextBlock[] }

/**
 * Every field of the document, readable: map fields by path (not `editedAt`, which is
 * bookkeeping), free text as text, rich text as formatted blocks.
 */
export const readableVersion = (doc: Y.Doc, type: DocumentType): VersionField[] => {
  const { maps, richText, text } = rootNames(type)
  const fields: VersionField[] = []
  for (const name of text) fields.push({ path: name, kind: 'text', value: readTextField(doc, type, name) })
  for (const root of maps) {
    if (root === EDITED_AT_ROOT || !doc.share.has(root)) continue
    const map = doc.getMap<unknown>(root)
    for (const key of [...map.keys()].sort()) {
      const path = `${root}.${key}`
      // A free-text field's legacy key is read with its text root above.
      if (text.includes(key)) continue
      fields.push({ path, kind: 'field', value: plain(map.get(key)) })
    }
  }
  for (const name of richText) fields.push({ path: name, kind: 'rich-text', value: richTextBlocks(doc.getXmlFragment(name)) })
  return fields
}

/** A nested shared type (team, approvals entries are plain values; anything else) as its JSON. */
const plain = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && 'toJSON' in value && typeof (value as { toJSON: unknown }).toJSON === 'function' ? (value as { toJSON: () => unknown }).toJSON() : value

/** A field that differs between a version and now; rich text with its formatted diff (then → now). */
export interface VersionDifference {
  readonly path: string
  readonly kind: VersionField['kind']
  /** undefined: the field did not exist then (or does not now). */
  readonly then: unknown
  readonly now: unknown
  readonly diff?: readonly DiffBlock[]
}

/** The fields that differ between two readable versions, in the order of `now` then those only `then` has. */
export const versionDifferences = (then: readonly VersionField[], now: readonly VersionField[]): VersionDifference[] => {
  const before = new Map(then.map((field) => [field.path, field]))
  const differences: VersionDifference[] = []
  for (const field of now) {
    const old = before.get(field.path)
    before.delete(field.path)
    if (old && isDeepStrictEqual(old.value, field.value)) continue
    if (field.kind === 'rich-text') {
      const oldBlocks = (old?.value ?? []) as TextBlock[]
      differences.push({ path: field.path, kind: field.kind, then: oldBlocks, now: field.value, diff: diffRichText(oldBlocks, field.value) })
    } else {
      differences.push({ path: field.path, kind: field.kind, then: old?.value, now: field.value })
    }
  }
  for (const old of before.values()) differences.push({ path: old.path, kind: old.kind, then: old.value, now: undefined })
  return differences
}
