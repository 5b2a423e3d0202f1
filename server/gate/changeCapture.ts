import * as Y from 'yjs'
import { rootNames } from '../../shared/documentModel.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import type { DocumentView, FieldChange } from '../../shared/rules/ruleTypes.ts'
import { plainTextOf } from './plainText.ts'

export interface CapturedChanges {
  readonly changes: FieldChange[]
  /** The document's values before the update (changed keys answer with their old value). */
  readonly before: DocumentView
  /** The document's values now. */
  readonly after: DocumentView
}

/**
 * Applies an update with `origin` and records what it changed, field by field (from Yjs's
 * own events: map events carry `changes.keys` with action and old value; a rich-text root reports
 * one `edit` when anything under it changed; a plain-text root one `edit` with the text before and
 * after, or, when the update put something other than characters into it, a `NotPlainText` value
 * for the `schema` rule to refuse).
 * Only observers of this doc type's roots run, and only for this transaction's origin, so the cost
 * is proportional to the update. Throws whatever Y.applyUpdate throws.
 */
export const applyCapturingChanges = (
  doc: Y.Doc,
  docType: DocumentType,
  update: Uint8Array,
  origin: object,
  namedRoots: ReadonlySet<string>,
): CapturedChanges => {
  const { maps, richText, text } = rootNames(docType)
  const changes: FieldChange[] = []
  const detach: Array<() => void> = []
  for (const root of maps) {
    if (!touchable(doc, root, namedRoots)) continue
    const ymap = doc.getMap<unknown>(root)
    const observer = (event: Y.YMapEvent<unknown>, transaction: Y.Transaction) => {
      if (transaction.origin !== origin) return
      event.changes.keys.forEach(({ action, oldValue }, key) => {
        changes.push({ root, key, path: `${root}.${key}`, action, oldValue, newValue: ymap.get(key) })
      })
    }
    ymap.observe(observer)
    detach.push(() => ymap.unobserve(observer))
  }
  // A rich-text root reports one `edit` when anything under it changed: Yjs lists every ancestor of
  // a changed type in `changedParentTypes`, so the transaction says so. Not a deep observer: for
  // those Yjs sorts the events by their path, and a path walks each level's siblings up to the
  // changed one — every keystroke would cost time in proportion to the document's paragraphs.
  const fragments = richText.filter((root) => touchable(doc, root, namedRoots)).map((root) => ({ root, fragment: doc.getXmlFragment(root) }))
  if (fragments.length > 0) {
    const afterTransaction = (transaction: Y.Transaction) => {
      if (transaction.origin !== origin) return
      const changedUnder: ReadonlyMap<unknown, unknown> = transaction.changedParentTypes
      for (const { root, fragment } of fragments) {
        if (changedUnder.has(fragment)) {
          changes.push({ root, key: null, path: root, action: 'edit', oldValue: undefined, newValue: undefined })
        }
      }
    }
    doc.on('afterTransaction', afterTransaction)
    detach.push(() => doc.off('afterTransaction', afterTransaction))
  }
  for (const root of text) {
    if (!touchable(doc, root, namedRoots)) continue
    const ytext = doc.getText(root)
    const observer = (event: Y.YTextEvent, transaction: Y.Transaction) => {
      if (transaction.origin !== origin) return
      const after = plainTextOf(ytext, event.keysChanged.size > 0)
      changes.push({ root, key: null, path: root, action: 'edit', oldValue: textBefore(ytext, event), newValue: after })
    }
    ytext.observe(observer)
    detach.push(() => ytext.unobserve(observer))
  }
  try {
    Y.applyUpdate(doc, update, origin)
  } finally {
    for (const off of detach) off()
  }
  const oldValues = new Map(changes.map((change) => [change.path, change.oldValue]))
  // A root the document does not have reads as empty, without creating it.
  const current: DocumentView = { get: (root, key) => (doc.share.has(root) ? doc.getMap<unknown>(root).get(key) : undefined) }
  return {
    changes,
    after: current,
    before: {
      get: (root, key) => {
        const path = `${root}.${key}`
        return oldValues.has(path) ? oldValues.get(path) : current.get(root, key)
      },
    },
  }
}

/**
 * A plain-text root's text before the transaction `event` reports, read from its items: those it
 * added are left out, those it deleted still hold their characters (Yjs collects them only after
 * the observers ran). Read only for an update that changed the text — reading every text root
 * before every update cost ~3 % of a keystroke's CPU for titles nobody was editing.
 */
const textBefore = (ytext: Y.Text, event: Y.YTextEvent): string => {
  let text = ''
  for (let item = ytext._start; item !== null; item = item.right) {
    const there = !event.adds(item) && (!item.deleted || event.deletes(item))
    if (there && item.countable && item.content instanceof Y.ContentString) text += item.content.str
  }
  return text
}

/**
 * Can the update change this root? Only if the document has it already (an update's items and
 * deletions refer to existing items, or to roots by name) or the update names it as a parent.
 * Observing only those roots avoids creating a shared type (a YMap with its event handlers and
 * Map) in every document for every root of its type that it does not use.
 */
const touchable = (doc: Y.Doc, root: string, namedRoots: ReadonlySet<string>): boolean => doc.share.has(root) || namedRoots.has(root)
