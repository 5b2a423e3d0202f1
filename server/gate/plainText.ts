import * as Y from 'yjs'
import type { NotPlainText } from '../../shared/rules/ruleTypes.ts'
import { applyTextSplice } from '../../shared/textDiff.ts'

/**
 * Plain-text roots hold characters only. A Y.Text can also hold formatting attributes, embeds,
 * nested shared types, other Yjs content, and keyed entries no text reader shows: every client
 * binds these fields to an <input>, so any of that is invisible or breaks the binding, and the
 * `schema` rule refuses it.
 */

/** The text's content as the `schema` rule judges it: its string, or what else it holds. Cost ∝ the text's items. */
export const plainTextOf = (text: Y.Text, keyed: boolean): string | NotPlainText => {
  if (keyed || hasLiveKeys(text)) return { notPlainText: 'keyed entries' }
  for (let item = text._start; item !== null; item = item.right) {
    if (item.deleted) continue
    const what = notText(item.content)
    if (what !== null) return { notPlainText: what }
  }
  return text.toString()
}

const notText = (content: Y.Item['content']): string | null => {
  if (content instanceof Y.ContentString) return null
  if (content instanceof Y.ContentFormat) return 'formatting attributes'
  if (content instanceof Y.ContentEmbed) return 'an embed'
  if (content instanceof Y.ContentType) return 'a nested type'
  return 'content other than characters'
}

const hasLiveKeys = (text: Y.Text): boolean => {
  for (const item of text._map.values()) if (!item.deleted) return true
  return false
}

/**
 * Brings a plain-text root back to `before` (call it inside the compensating transaction): whatever
 * is not a character is deleted, then one minimal splice restores the string, so characters the
 * update did not touch keep their identity (a concurrent edit anchored to them still lands).
 */
export const restorePlainText = (text: Y.Text, before: string, transaction: Y.Transaction): void => {
  for (const item of text._map.values()) if (!item.deleted) item.delete(transaction)
  for (let item = text._start; item !== null; item = item.right) {
    if (!item.deleted && !(item.content instanceof Y.ContentString)) item.delete(transaction)
  }
  applyTextSplice(text, text.toString(), before)
}
