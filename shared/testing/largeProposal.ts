import * as Y from 'yjs'
import * as prng from 'lib0/prng'
import { proposalModel } from '../documentModel.ts'

/**
 * A realistic big proposal, written the way an editor writes one: many small updates, one per
 * transaction. The structured fields first (meta, financial, team, the title), then the body as
 * the rich-text editor (y-prosemirror over ProseMirror's basic schema) stores it: headings,
 * paragraphs and bullet lists, typed a sentence at a time, some words made bold or italic
 * afterwards, some typos deleted and retyped (so the document has a delete set, as real ones do).
 *
 * Each call to `next()` makes one edit in its own transaction (one update); `bytesWritten` is the
 * sum of the updates so far, a close upper bound of the encoded document.
 */
export interface ProposalWriter {
  /** One edit, in its own transaction. */
  next(): void
  /** Bytes of every update written so far. */
  readonly bytesWritten: number
  /** Edits (updates) made so far. */
  readonly edits: number
  /** Stops counting the doc's updates. */
  dispose(): void
}

const WORDS = (
  'the proposal covers delivery installation training and support of the platform for all sites ' +
  'our team will provide a dedicated project manager weekly status reports and a clear escalation path ' +
  'pricing includes licences hardware maintenance and on site services for the first three years ' +
  'acceptance criteria are agreed with the customer before each milestone is invoiced ' +
  'risks are tracked in a shared register and reviewed with stakeholders every month'
).split(' ')

/** Sentences per block, and how often a block is a heading or a bullet list. */
const SENTENCES_PER_PARAGRAPH = 6
const HEADING_EVERY = 12
const LIST_EVERY = 7

export const proposalWriter = (doc: Y.Doc, seed = 1): ProposalWriter => {
  const random = prng.create(seed)
  const model = proposalModel(doc)
  let bytesWritten = 0
  let edits = 0
  const count = (update: Uint8Array) => {
    bytesWritten += update.byteLength
  }
  doc.on('update', count)

  const sentence = (): string => {
    const length = prng.int32(random, 8, 22)
    const words: string[] = []
    for (let i = 0; i < length; i++) words.push(WORDS[prng.int32(random, 0, WORDS.length - 1)]!)
    const text = words.join(' ')
    return `${text[0]!.toUpperCase()}${text.slice(1)}. `
  }

  /** The setup edits: each structured field its own update, as the form sends them. */
  const setup: Array<() => void> = [
    () => model.title.insert(0, 'Platform rollout for Northwind Traders'),
    () => model.meta.set('status', 'draft'),
    () => model.meta.set('customerId', 'northwind-traders'),
    () => model.meta.set('ownerId', 'bench-writer'),
    () => model.meta.set('dueDate', '2027-03-31'),
    () => model.meta.set('currency', 'EUR'),
    () => model.financial.set('value', 1_250_000),
    () => model.financial.set('discountPct', 7.5),
    () => model.financial.set('marginPct', 22),
    () => model.financial.set('paymentTermsDays', 45),
  ]

  let blocks = 0
  let current: Y.XmlText | null = null
  let sentencesLeft = 0

  /** A new block at the end of the body; returns the text to type into. */
  const newBlock = (): Y.XmlText => {
    blocks++
    const text = new Y.XmlText()
    if (blocks % HEADING_EVERY === 1) {
      const heading = new Y.XmlElement('heading')
      heading.setAttribute('level', prng.int32(random, 1, 3) as never)
      heading.insert(0, [text])
      model.body.insert(model.body.length, [heading])
      sentencesLeft = 1
    } else if (blocks % LIST_EVERY === 0) {
      const list = new Y.XmlElement('bullet_list')
      const item = new Y.XmlElement('list_item')
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [text])
      item.insert(0, [paragraph])
      list.insert(0, [item])
      model.body.insert(model.body.length, [list])
      sentencesLeft = 2
    } else {
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [text])
      model.body.insert(model.body.length, [paragraph])
      sentencesLeft = SENTENCES_PER_PARAGRAPH
    }
    return text
  }

  const edit = (): void => {
    if (edits < setup.length) {
      setup[edits]!()
      return
    }
    if (current === null || sentencesLeft === 0) {
      current = newBlock()
      current.insert(0, sentence())
      sentencesLeft--
      return
    }
    const roll = prng.real53(random)
    const length = current.length
    if (roll < 0.15 && length > 20) {
      // A word made bold or italic after it was typed (the editor's marks: `strong`, `em`).
      const at = prng.int32(random, 0, length - 12)
      current.format(at, prng.int32(random, 4, 10), prng.bool(random) ? { strong: {} } : { em: {} })
    } else if (roll < 0.25 && length > 10) {
      // A typo: a few characters deleted and typed again.
      const at = prng.int32(random, 0, length - 6)
      current.delete(at, prng.int32(random, 1, 4))
      current.insert(at, WORDS[prng.int32(random, 0, WORDS.length - 1)]!)
    } else {
      current.insert(length, sentence())
      sentencesLeft--
    }
  }

  return {
    next: () => {
      doc.transact(edit)
      edits++
    },
    get bytesWritten() {
      return bytesWritten
    },
    get edits() {
      return edits
    },
    dispose: () => doc.off('update', count),
  }
}

/** Writes a proposal into `doc` until its updates add up to `targetBytes`; returns the edits made. */
export const writeProposalLocally = (doc: Y.Doc, targetBytes: number, seed = 1): number => {
  const writer = proposalWriter(doc, seed)
  while (writer.bytesWritten < targetBytes) writer.next()
  writer.dispose()
  return writer.edits
}
