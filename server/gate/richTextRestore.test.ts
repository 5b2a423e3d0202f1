import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { seededRandom, type SeededRandom } from '../testing/seededRandom.ts'
import { restoreRichText, richTextContent, snapshotRichText, storableRichText } from './richTextRestore.ts'
import { capturedUpdate } from '../testing/capturedUpdate.ts'
import { appendElementChain, elementDepth } from '../testing/deepContent.ts'

/**
 * A text's delta with adjacent runs of equal format merged: Yjs splits a run at a format item even
 * when the format does not change, which is not a difference anyone can see.
 */
const normalizedDelta = (text: Y.XmlText): Array<{ insert: unknown; attributes?: unknown }> => {
  const runs: Array<{ insert: unknown; attributes?: unknown }> = []
  for (const op of text.toDelta() as Array<{ insert: unknown; attributes?: unknown }>) {
    const last = runs.at(-1)
    if (last && typeof last.insert === 'string' && typeof op.insert === 'string' && JSON.stringify(last.attributes ?? {}) === JSON.stringify(op.attributes ?? {})) {
      last.insert += op.insert
    } else {
      runs.push({ ...op })
    }
  }
  return runs
}

/** A fragment's content as plain data: element names, attributes, children; texts as (normalized) deltas. */
const contentOf = (parent: Y.XmlFragment | Y.XmlElement): unknown[] =>
  parent.toArray().map((child) =>
    child instanceof Y.XmlText
      ? { text: normalizedDelta(child), attributes: child.getAttributes() }
      : { element: (child as Y.XmlElement).nodeName, attributes: (child as Y.XmlElement).getAttributes(), children: contentOf(child as Y.XmlElement) },
  )

const body = (doc: Y.Doc) => doc.getXmlFragment('body')
const exchange = (a: Y.Doc, b: Y.Doc) => {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

/** The server's side of a held edit: apply the sender's update, then restore in a server transaction. */
const applyHeld = (server: Y.Doc, update: Uint8Array): void => {
  const snapshot = snapshotRichText(body(server))
  Y.applyUpdate(server, update, 'editor')
  server.transact(() => restoreRichText(snapshot), 'gate')
}


const paragraph = (text: string, attributes?: Record<string, unknown>): Y.XmlElement => {
  const element = new Y.XmlElement('paragraph')
  const content = new Y.XmlText()
  content.insert(0, text, attributes) // kept until the element is integrated
  element.insert(0, [content])
  return element
}

describe('rich-text restore (exact compensation)', () => {
  test('the UndoManager repro: a held deletion over earlier copies with a concurrent insert between the originals keeps every character', () => {
    const server = new Y.Doc()
    const editor = new Y.Doc()
    const lawyer = new Y.Doc()
    lawyer.transact(() => body(lawyer).insert(0, [new Y.XmlText('A0')]))
    exchange(lawyer, server)
    exchange(server, editor)
    // Offline: the editor empties the text, the lawyer types "C0" between "A" and "0".
    ;(body(editor).get(0) as Y.XmlText).delete(0, 2)
    ;(body(lawyer).get(0) as Y.XmlText).insert(1, 'C0')
    applyHeld(server, Y.encodeStateAsUpdate(editor, Y.encodeStateVector(server)))
    exchange(server, editor)
    Y.applyUpdate(server, Y.encodeStateAsUpdate(lawyer, Y.encodeStateVector(server)))
    exchange(server, editor)
    exchange(server, lawyer)
    const before = body(server).toString()
    // The editor deletes the whole text: held again; the body must stay exactly as it was.
    body(editor).delete(0, 1)
    applyHeld(server, Y.encodeStateAsUpdate(editor, Y.encodeStateVector(server)))
    assert.equal(body(server).toString(), before)
    exchange(server, editor)
    exchange(server, lawyer)
    assert.equal(body(editor).toString(), before)
    assert.equal(body(lawyer).toString(), before)
  })

  test('formats, element attributes, inserted and deleted paragraphs are all put back; survivors keep their identity', () => {
    const server = new Y.Doc()
    body(server).insert(0, [paragraph('Terms apply.'), paragraph('Bold clause', { bold: true })])
    ;(body(server).get(0) as Y.XmlElement).setAttribute('align', 'left')
    const editor = new Y.Doc()
    exchange(server, editor)
    const survivor = (body(server).get(0) as Y.XmlElement).get(0) as Y.XmlText
    const before = contentOf(body(server))
    editor.transact(() => {
      const first = body(editor).get(0) as Y.XmlElement
      first.setAttribute('align', 'right')
      first.setAttribute('class', 'x')
      const text = first.get(0) as Y.XmlText
      text.format(0, 5, { italic: true })
      text.delete(6, 5)
      text.insert(0, 'No ')
      body(editor).delete(1, 1)
      body(editor).insert(1, [paragraph('Injected')])
    })
    applyHeld(server, Y.encodeStateAsUpdate(editor, Y.encodeStateVector(server)))
    assert.deepEqual(contentOf(body(server)), before)
    assert.equal((body(server).get(0) as Y.XmlElement).get(0), survivor, 'the untouched text node is the same item')
    exchange(server, editor)
    assert.deepEqual(contentOf(body(editor)), before)
  })

  test('nothing to restore: an update that did not touch the body leaves it alone', () => {
    const server = new Y.Doc()
    body(server).insert(0, [paragraph('Same')])
    const snapshot = snapshotRichText(body(server))
    server.getMap('meta').set('title', 'x')
    let changed: boolean | null = null
    server.transact(() => {
      changed = restoreRichText(snapshot)
    })
    assert.equal(changed, false)
  })

  /** Random edits of a body: texts typed into, deleted from, formatted; paragraphs added and removed. */
  const randomEdit = (random: SeededRandom, doc: Y.Doc): void => {
    const fragment = body(doc)
    const paragraphs = fragment.toArray().filter((node): node is Y.XmlElement => node instanceof Y.XmlElement)
    const roll = random.int(10)
    if (paragraphs.length === 0 || roll === 0) {
      fragment.insert(random.int(fragment.length + 1), [paragraph(random.pick(['new ', 'clause ', 'x']), random.chance(0.3) ? { bold: true } : undefined)])
      return
    }
    const element = random.pick(paragraphs)
    if (roll === 1) {
      fragment.delete(fragment.toArray().indexOf(element), 1)
      return
    }
    if (roll === 2) {
      element.setAttribute('align', random.pick(['left', 'right']))
      return
    }
    const text = element.get(0) as Y.XmlText | null
    if (!text) return
    const length = text.length
    if (roll <= 5 || length === 0) text.insert(random.int(length + 1), random.pick(['a', 'bc', 'def', ' ']), random.chance(0.2) ? { italic: true } : undefined)
    else if (roll <= 8) {
      const start = random.int(length)
      text.delete(start, 1 + random.int(Math.min(3, length - start)))
    } else {
      const start = random.int(length)
      text.format(start, 1 + random.int(length - start), { bold: random.chance(0.5) ? true : null })
    }
  }

  test('seeded: random held edits, with a lawyer editing concurrently, restore exactly and every replica converges', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = seededRandom(seed)
      const server = new Y.Doc()
      const editor = new Y.Doc()
      const lawyer = new Y.Doc()
      body(server).insert(0, [paragraph('Payment within 30 days.'), paragraph('Liability is limited.', { bold: true })])
      exchange(server, editor)
      exchange(server, lawyer)
      for (let round = 0; round < 25; round++) {
        // Both edit offline; the lawyer's edits are accepted, the editor's are held.
        for (let i = random.int(4); i >= 0; i--) randomEdit(random, editor)
        for (let i = random.int(3); i >= 0; i--) randomEdit(random, lawyer)
        const lawyerFirst = random.chance(0.5)
        if (lawyerFirst) Y.applyUpdate(server, Y.encodeStateAsUpdate(lawyer, Y.encodeStateVector(server)))
        const before = contentOf(body(server))
        applyHeld(server, Y.encodeStateAsUpdate(editor, Y.encodeStateVector(server)))
        assert.deepEqual(contentOf(body(server)), before, `seed ${seed}, round ${round}: restored exactly`)
        if (!lawyerFirst) Y.applyUpdate(server, Y.encodeStateAsUpdate(lawyer, Y.encodeStateVector(server)))
        if (random.chance(0.7)) exchange(server, editor)
        if (random.chance(0.7)) exchange(server, lawyer)
      }
      exchange(server, editor)
      exchange(server, lawyer)
      const final = contentOf(body(server))
      assert.deepEqual(contentOf(body(editor)), final, `seed ${seed}: editor converged`)
      assert.deepEqual(contentOf(body(lawyer)), final, `seed ${seed}: lawyer converged`)
    }
  })
  test('a tree 5,000 levels deep is snapshotted, restored (deleted subtree re-inserted, inserts removed) and printed without recursion', () => {
    // gc off on both sides: Yjs's own garbage collection of a deleted subtree recurses per level.
    const server = new Y.Doc({ gc: false })
    const editor = new Y.Doc({ gc: false })
    server.transact(() => body(server).insert(0, [new Y.XmlText('Approved clause.')]))
    appendElementChain(server, 'body', 5_000)
    exchange(server, editor)
    const before = richTextContent(body(server))
    const edit = capturedUpdate(editor, () => {
      body(editor).delete(1, 1)
      body(editor).insert(0, [paragraph('inserted')])
    })
    applyHeld(server, edit)
    assert.equal(richTextContent(body(server)), before)
    assert.equal(elementDepth(body(server)), 5_000)
    // A review item keeps the proposed tree only when it is no deeper than a document may be made.
    assert.equal(storableRichText(snapshotRichText(body(server)), 64), null)
    const shallow = new Y.Doc()
    body(shallow).insert(0, [paragraph('bold', { bold: true })])
    assert.deepEqual(storableRichText(snapshotRichText(body(shallow)), 64), JSON.parse(JSON.stringify(snapshotRichText(body(shallow)).children)))
  })
})

