import * as Y from 'yjs'

/** A stretch of text with the formats a reader sees (the editor's bold and italic marks). */
export interface TextRun {
  readonly text: string
  readonly bold?: true
  readonly italic?: true
}

/** One paragraph, heading or list item as a reader sees it: its kind and its formatted runs. */
export interface TextBlock {
  /** The element's name (`paragraph`, `heading`, …). */
  readonly kind: string
  readonly runs: readonly TextRun[]
}

/**
 * Format names meaning bold and italic: the editor's (ProseMirror's basic schema through
 * y-prosemirror: `strong`, `em`) and Yjs's own examples' (`bold`, `italic`).
 */
const isBold = (attributes: Record<string, unknown> | undefined): boolean => Boolean(attributes?.strong ?? attributes?.bold)
const isItalic = (attributes: Record<string, unknown> | undefined): boolean => Boolean(attributes?.em ?? attributes?.italic)

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Yjs type: only its class is read
type Node = Y.AbstractType<any>

/**
 * A rich-text root as readable blocks of formatted runs, never JSON: each element that holds text
 * is a block (nested lists give one block per item), in document order. Walked with an explicit
 * stack, so a tree thousands of levels deep (stored before the nesting limit) cannot overflow it.
 * Embedded objects are left out: a reader sees their absence, not their encoding.
 */
export const richTextBlocks = (fragment: Y.XmlFragment): TextBlock[] => {
  const blocks: Array<{ kind: string; runs: TextRun[]; owner: Node }> = []
  const work: Node[] = []
  pushReversed(work, fragment.toArray())
  while (work.length > 0) {
    const node = work.pop()!
    if (node instanceof Y.XmlText) {
      const owner = node.parent as Node
      let block = blocks.at(-1)
      if (!block || block.owner !== owner) {
        block = { kind: owner instanceof Y.XmlElement ? owner.nodeName : 'paragraph', runs: [], owner }
        blocks.push(block)
      }
      for (const op of node.toDelta() as Array<{ insert: unknown; attributes?: Record<string, unknown> }>) {
        if (typeof op.insert !== 'string') continue
        block.runs.push({ text: op.insert, ...(isBold(op.attributes) ? { bold: true } : {}), ...(isItalic(op.attributes) ? { italic: true } : {}) })
      }
    } else if (node instanceof Y.XmlElement) {
      const children = node.toArray()
      // An empty paragraph is still a paragraph a reader sees (a blank line).
      if (children.length === 0) blocks.push({ kind: node.nodeName, runs: [], owner: node })
      pushReversed(work, children)
    }
  }
  return blocks.map(({ kind, runs }) => ({ kind, runs }))
}

/** The blocks' text without formats, paragraphs on lines of their own. */
export const blocksText = (blocks: readonly TextBlock[]): string => blocks.map((block) => block.runs.map((run) => run.text).join('')).join('\n')

const pushReversed = <T>(stack: T[], items: readonly T[]): void => {
  for (let index = items.length - 1; index >= 0; index--) stack.push(items[index]!)
}
