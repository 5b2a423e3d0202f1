import * as Y from 'yjs'
import { xmlToString } from './richTextString.ts'

/**
 * Deepest nesting of shared types (maps in maps) written out as JSON. Deeper content is written as
 * a marker string instead: the JSON is printed (JSON.stringify recurses once per level) and checked
 * by schemas, and nothing the server accepts nests deeper than maxRichTextDepth (64) anyway — only a
 * document stored before that limit, or written with the validation gate off, can.
 */
export const MAX_JSON_NESTING = 256

/** What a shared type nested deeper than MAX_JSON_NESTING reads as. */
export const TOO_DEEP_MARKER = `[nested deeper than ${MAX_JSON_NESTING} levels]`

/**
 * A map root (or any shared value) as plain JSON, like Yjs's `toJSON`, but with a loop instead of
 * Yjs's recursion over nested types: rich text as its XML string (as Yjs's toJSON gives it), texts
 * as strings, maps as objects, arrays as arrays; plain values as they are.
 */
export const sharedToJSON = (value: unknown): unknown => {
  const root: { value?: unknown } = {}
  const work: Array<{ value: unknown; depth: number; set: (json: unknown) => void }> = [{ value, depth: 0, set: (json) => (root.value = json) }]
  while (work.length > 0) {
    const { value: next, depth, set } = work.pop()!
    if (!(next instanceof Y.AbstractType)) set(next)
    else if (next instanceof Y.XmlFragment || next instanceof Y.XmlText) set(xmlToString(next)) // their XML, as Yjs's toJSON gives it
    else if (next instanceof Y.Text) set(next.toString())
    else if (depth >= MAX_JSON_NESTING) set(TOO_DEEP_MARKER)
    else if (next instanceof Y.Map) {
      const object: Record<string, unknown> = {}
      set(object)
      for (const [key, entry] of next.entries()) {
        object[key] = undefined // keys in the map's order, filled in as the loop gets to them
        work.push({ value: entry, depth: depth + 1, set: (json) => (object[key] = json) })
      }
    } else if (next instanceof Y.Array) {
      const array: unknown[] = new Array<unknown>(next.length)
      set(array)
      next.toArray().forEach((entry, index) => work.push({ value: entry, depth: depth + 1, set: (json) => (array[index] = json) }))
    } else set(String(next))
  }
  return root.value
}
