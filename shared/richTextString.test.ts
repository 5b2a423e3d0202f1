import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { richTextToString } from './richTextString.ts'

/** A small pseudo-random tree: elements with attributes, formatted texts, an embedded element. */
const randomTree = (seed: number): Y.Doc => {
  let state = seed
  const next = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state % n
  }
  const doc = new Y.Doc()
  const parents: Array<Y.XmlFragment | Y.XmlElement> = [doc.getXmlFragment('body')]
  for (let step = 0; step < 40; step++) {
    const parent = parents[next(parents.length)]!
    const kind = next(3)
    if (kind === 0) {
      const element = new Y.XmlElement(['p', 'li', 'Quote'][next(3)]!)
      parent.insert(next(parent.length + 1), [element])
      if (next(2) === 0) element.setAttribute(['b', 'a', 'level'][next(3)]!, String(next(10)))
      parents.push(element)
    } else if (kind === 1) {
      const text = new Y.XmlText()
      parent.insert(next(parent.length + 1), [text])
      text.insert(0, 'plain ')
      text.insert(text.length, 'bold', { bold: true })
      text.insert(text.length, 'link', { link: { href: 'x', rel: 'y' }, italic: {} })
      if (next(3) === 0) text.insertEmbed(text.length, new Y.XmlElement('img'))
    } else if (parent instanceof Y.XmlElement) {
      parent.setAttribute('z', 'last')
    }
  }
  return doc
}

describe('richTextToString', () => {
  test('reads exactly as Yjs prints it (30 seeded trees)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const doc = randomTree(seed)
      assert.equal(richTextToString(doc.getXmlFragment('body')), doc.getXmlFragment('body').toString(), `seed ${seed}`)
    }
  })

  test('prints a chain 20,000 levels deep, which Yjs cannot', () => {
    const doc = new Y.Doc()
    // One transaction: Yjs walks up to the root once per transaction for its events.
    doc.transact(() => {
      let parent: Y.XmlFragment | Y.XmlElement = doc.getXmlFragment('body')
      for (let level = 0; level < 20_000; level++) {
        const element = new Y.XmlElement('div')
        parent.insert(0, [element])
        parent = element
      }
    })
    assert.throws(() => doc.getXmlFragment('body').toString(), RangeError)
    const printed = richTextToString(doc.getXmlFragment('body'))
    assert.equal(printed, '<div>'.repeat(20_000) + '</div>'.repeat(20_000))
  })
})
