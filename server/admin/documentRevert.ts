import { isDeepStrictEqual } from 'node:util'
import * as Y from 'yjs'
import { rootNames } from '../../shared/documentModel.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import { restoreRichText, richTextContent, snapshotRichText } from '../gate/richTextRestore.ts'
import { applyTextSplice } from '../../shared/textDiff.ts'

/**
 * Makes `doc` equal to `target` (the document as of an earlier event), as one set of ordinary
 * changes — so it reaches every replica like any edit: map fields set back or deleted, a plain-text
 * root brought back to the target's text with one minimal splice, a rich-text root whose content
 * differs brought back to the target's tree. Returns the paths it changed.
 */
export const revertTo = (doc: Y.Doc, target: Y.Doc, type: DocumentType): string[] => {
  const { maps, richText, text } = rootNames(type)
  const changed: string[] = []
  for (const root of maps) {
    const current = doc.getMap<unknown>(root)
    const wanted = target.getMap<unknown>(root).toJSON() as Record<string, unknown>
    for (const key of current.keys()) {
      if (!(key in wanted)) {
        current.delete(key)
        changed.push(`${root}.${key}`)
      }
    }
    for (const [key, value] of Object.entries(wanted)) {
      if (!isDeepStrictEqual(current.get(key), value)) {
        current.set(key, value)
        changed.push(`${root}.${key}`)
      }
    }
  }
  for (const root of text) {
    const wanted = target.share.has(root) ? target.getText(root).toString() : ''
    const current = doc.share.has(root) ? doc.getText(root).toString() : ''
    if (current === wanted) continue
    applyTextSplice(doc.getText(root), current, wanted)
    changed.push(root)
  }
  for (const root of richText) {
    const current = doc.getXmlFragment(root)
    const wanted = target.getXmlFragment(root)
    if (richTextContent(current) === richTextContent(wanted)) continue
    // Brought to the target's tree by identity, with loops (Yjs's clone and toString recurse once
    // per level): what both share is kept, the rest deleted or inserted as copies.
    restoreRichText({ fragment: current, children: snapshotRichText(wanted).children })
    changed.push(root)
  }
  return changed
}
