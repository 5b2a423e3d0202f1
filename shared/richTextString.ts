import * as Y from 'yjs'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Yjs type: only its class is read
type Piece = string | Y.AbstractType<any>

/**
 * A rich-text root as the XML string Yjs's `toString` gives, built with an explicit stack. Yjs's
 * own `toString` recurses once per nesting level (element → its children → …), so a document
 * nested a few thousand levels deep (stored before the nesting limit, or by another server)
 * overflows the stack of whoever prints it; this does not, whatever the depth.
 */
export const richTextToString = (fragment: Y.XmlFragment): string => xmlToString(fragment)

/** One rich-text node (fragment, element or text) as Yjs's `toString` prints it, with the same loop. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Yjs type: only its class is read
export const xmlToString = (node: Y.AbstractType<any>): string => {
  const out: string[] = []
  // What is still to be written, last first: literal strings, or shared types to expand.
  const work: Piece[] = [node]
  while (work.length > 0) {
    const next = work.pop()!
    if (typeof next === 'string') out.push(next)
    else if (next instanceof Y.XmlElement) {
      const nodeName = next.nodeName.toLocaleLowerCase()
      const attributes = next.getAttributes() as Record<string, unknown>
      const pairs = Object.keys(attributes)
        .sort()
        .map((key) => `${key}="${String(attributes[key])}"`)
      out.push(`<${nodeName}${pairs.length > 0 ? ' ' + pairs.join(' ') : ''}>`)
      work.push(`</${nodeName}>`)
      pushReversed(work, next.toArray())
    } else if (next instanceof Y.XmlText) {
      pushReversed(work, textPieces(next))
    } else if (next instanceof Y.XmlFragment) {
      pushReversed(work, next.toArray())
    } else {
      // A YText prints its characters; a map or hook prints as any object does (as in Yjs).
      out.push(next instanceof Y.Text ? next.toString() : String(next))
    }
  }
  return out.join('')
}

/** A text's runs as Yjs prints them: its formats as nested tags around each insert (sorted). An embedded type stays a type. */
const textPieces = (text: Y.XmlText): Piece[] => {
  const pieces: Piece[] = []
  for (const op of text.toDelta() as Array<{ insert: unknown; attributes?: Record<string, Record<string, unknown>> }>) {
    const tags = Object.keys(op.attributes ?? {})
      .sort()
      .map((nodeName) => {
        const format = Object(op.attributes![nodeName]) as Record<string, unknown> // for…in over a non-object, as Yjs does
        const pairs = Object.keys(format)
          .sort()
          .map((key) => ` ${key}="${String(format[key])}"`)
        return { open: `<${nodeName}${pairs.join('')}>`, close: `</${nodeName}>` }
      })
    pieces.push(tags.map((tag) => tag.open).join(''))
    pieces.push(op.insert instanceof Y.AbstractType ? op.insert : String(op.insert))
    pieces.push(
      tags
        .reverse()
        .map((tag) => tag.close)
        .join(''),
    )
  }
  return pieces
}

const pushReversed = <T>(stack: T[], items: readonly T[]): void => {
  for (let index = items.length - 1; index >= 0; index--) stack.push(items[index]!)
}
