import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { checkNestingDepth } from './nestingDepth.ts'
import { capturedUpdate } from '../testing/capturedUpdate.ts'
import { appendElementChain } from '../testing/deepContent.ts'


const innermost = (doc: Y.Doc): Y.XmlElement => {
  let element = doc.getXmlFragment('body').get(0) as Y.XmlElement
  while (element.get(0) instanceof Y.XmlElement) element = element.get(0) as Y.XmlElement
  return element
}

const code = (error: ReturnType<typeof checkNestingDepth>) => error?.code ?? null

describe('checkNestingDepth', () => {
  test('a chain in one update: the limit passes, one more level is refused', () => {
    for (const [elements, expected] of [
      [7, null],
      [8, 'ERR_NESTING_TOO_DEEP'],
    ] as const) {
      const client = new Y.Doc()
      // elements + the text inside the innermost: elements + 1 levels.
      const update = capturedUpdate(client, () => appendElementChain(client, 'body', elements))
      assert.equal(code(checkNestingDepth(new Y.Doc(), update, 8)), expected, `${elements} elements`)
    }
  })

  test('parents already in the document are counted by walking up (an insert that names its parent, and one that names only a neighbour)', () => {
    const server = new Y.Doc()
    const client = new Y.Doc()
    appendElementChain(client, 'body', 6) // elements at 1…6, text at 7
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client))
    // Into the innermost element after its text: the new element names only its left neighbour.
    const besideText = capturedUpdate(client, () => innermost(client).insert(1, [new Y.XmlElement('p')]))
    assert.equal(code(checkNestingDepth(server, besideText, 7)), null)
    const belowIt = capturedUpdate(client, () => {
      const paragraph = new Y.XmlElement('p')
      paragraph.insert(0, [new Y.XmlText('deeper')])
      innermost(client).insert(0, [paragraph])
    })
    assert.equal(code(checkNestingDepth(server, belowIt, 7)), 'ERR_NESTING_TOO_DEEP')
    assert.equal(code(checkNestingDepth(server, belowIt, 8)), null)
  })

  test('two writers merged into one update, each building on the other', () => {
    const alice = new Y.Doc()
    const bob = new Y.Doc()
    const first = capturedUpdate(alice, () => appendElementChain(alice, 'body', 5))
    Y.applyUpdate(bob, first)
    const second = capturedUpdate(bob, () => {
      const deeper = new Y.XmlElement('li')
      deeper.insert(0, [new Y.XmlElement('li')])
      innermost(bob).insert(1, [deeper]) // li at 6, li at 7; bob's items name alice's (in the same update)
    })
    const merged = Y.mergeUpdates([second, first])
    assert.equal(code(checkNestingDepth(new Y.Doc(), merged, 7)), null)
    assert.equal(code(checkNestingDepth(new Y.Doc(), merged, 6)), 'ERR_NESTING_TOO_DEEP')
  })

  test('a 100,000-level chain is measured without recursion', () => {
    const client = new Y.Doc()
    const update = capturedUpdate(client, () => appendElementChain(client, 'body', 100_000))
    assert.equal(code(checkNestingDepth(new Y.Doc(), update, 64)), 'ERR_NESTING_TOO_DEEP')
  })
})
