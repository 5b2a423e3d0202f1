import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { checkUpdateStructure } from '../protocol/updateGuard.ts'
import { currentItems, fieldsSetBy, maySetFields } from './conflicts.ts'

/**
 * The fields an update sets are read from the update itself, before it is applied: the conflict
 * check then notes the current value of those fields only. Noting every field of every map root
 * per update cost O(fields) each time — a team map of 100,000 members made every keystroke walk
 * 100,000 entries, and a burst of updates quadratic.
 */

const sync = (from: Y.Doc, to: Y.Doc) => Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)))

const updateOf = (doc: Y.Doc, change: () => void): Uint8Array => {
  const before = Y.encodeStateVector(doc)
  change()
  return Y.encodeStateAsUpdate(doc, before)
}

test('a first write, an overwrite (encoded by its origin only), a nested write and a text edit', () => {
  const server = new Y.Doc()
  const alice = new Y.Doc()
  for (let i = 0; i < 1000; i++) server.getMap('team').set(`member-${i}`, 'editor')
  server.getMap('meta').set('status', 'draft')
  server.getMap('financial').set('lines', new Y.Map())
  server.getText('title').insert(0, 'Fleet')
  sync(server, alice)

  const update = updateOf(alice, () => {
    alice.getMap('meta').set('status', 'review') // overwrite: origin is the current item
    alice.getMap('meta').set('status', 'approved') // and again, within the update
    alice.getMap('financial').set('value', 12_000) // first write of the key
    ;(alice.getMap('financial').get('lines') as Y.Map<unknown>).set('x', 1) // nested: no root field
    alice.getText('title').insert(5, ' renewal') // text, not a map field
    alice.getMap('editedAt').set('meta.status', 1_700_000_000_000)
  })
  const fields = fieldsSetBy(server, Y.decodeUpdate(update).structs)
  assert.deepEqual([...fields].sort(), ['editedAt.meta.status', 'financial.value', 'meta.status'])

  const items = currentItems(server, 'proposal', fields)
  assert.deepEqual([...items.keys()].sort(), ['meta.status'], 'only existing fields of the ones set are noted')
  assert.equal(items.get('meta.status')!.value, 'draft')
})

test('a deletion brings no item (no value of the writer replaced anything); a key whose origin came in the same update resolves through it', () => {
  const server = new Y.Doc()
  server.getMap('team').set('ada', 'editor')
  const alice = new Y.Doc()
  sync(server, alice)
  const update = updateOf(alice, () => {
    alice.getMap('team').delete('ada')
    alice.getMap('team').set('bob', 'viewer')
    alice.getMap('team').set('bob', 'editor')
  })
  const fields = fieldsSetBy(server, Y.decodeUpdate(update).structs)
  assert.deepEqual([...fields].sort(), ['team.bob'])
})

test('a text item millions of characters long costs one entry, not one per character', () => {
  const server = new Y.Doc()
  const alice = new Y.Doc()
  const update = updateOf(alice, () => {
    alice.getXmlFragment('body').insert(0, [new Y.XmlText('a'.repeat(4_000_000))])
    alice.getMap('meta').set('status', 'draft')
  })
  const heapBefore = process.memoryUsage().heapUsed
  const fields = fieldsSetBy(server, Y.decodeUpdate(update).structs)
  assert.deepEqual([...fields], ['meta.status'])
  // Per-character bookkeeping would hold millions of entries (hundreds of MB); this holds a few.
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'fieldsSetBy kept per-character state')
})

/**
 * A keystroke is not decoded a second time to find the fields it sets: maySetFields answers from
 * the structural walk. Whenever it says no, fieldsSetBy (on the decoded update) must find nothing,
 * or a concurrent overwrite would go unnoticed. Seeded random edits of every kind, each checked.
 */
test('maySetFields: "no" only for updates that set no field (seeded random edits of every kind)', () => {
  let seed = 0x5eed
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const server = new Y.Doc()
  const writers = [new Y.Doc(), new Y.Doc()]
  const paragraph = new Y.XmlElement('paragraph')
  const nested = new Y.Map<unknown>()
  const first = updateOf(writers[0]!, () => {
    writers[0]!.getXmlFragment('body').insert(0, [paragraph])
    paragraph.insert(0, [new Y.XmlText('x')])
    writers[0]!.getMap('financial').set('lines', nested)
    writers[0]!.getText('title').insert(0, 'T')
  })
  Y.applyUpdate(server, first)
  for (const writer of writers) sync(server, writer)
  const edits: Array<(doc: Y.Doc) => void> = [
    (doc) => ((doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(random(2), 'ab'[random(2)]!),
    (doc) => doc.getText('title').insert(random(2), 'c'),
    (doc) => doc.getMap('meta').set(['status', 'title'][random(2)]!, `v${random(100)}`),
    (doc) => doc.getMap('editedAt').set('meta.status', random(1000)),
    (doc) => (doc.getMap('financial').get('lines') as Y.Map<unknown>).set(`k${random(3)}`, random(10)),
    (doc) => doc.getMap('meta').delete('title'),
    (doc) => {
      const text = (doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText
      if (text.length > 1) text.delete(0, 1)
    },
  ]
  const said = { yes: 0, no: 0 }
  for (let round = 0; round < 400; round++) {
    const writer = writers[random(2)]!
    const update = updateOf(writer, () => {
      for (let n = 1 + random(3); n > 0; n--) edits[random(edits.length)]!(writer)
    })
    const check = checkUpdateStructure(update)
    assert.ok(check.ok, 'a valid update passes the structural walk')
    const fields = fieldsSetBy(server, Y.decodeUpdate(update).structs)
    if (maySetFields(server, check.dependencies)) said.yes++
    else {
      said.no++
      assert.deepEqual([...fields], [], `round ${round}: maySetFields said no, but the update sets ${[...fields].join(', ')}`)
    }
    Y.applyUpdate(server, update)
    if (random(3) === 0) for (const other of writers) sync(server, other)
  }
  assert.ok(said.yes > 50 && said.no > 50, `both answers exercised: ${JSON.stringify(said)}`)
})

test('maySetFields: a keystroke in rich text is no; an overwrite encoded by its origin only is yes', () => {
  const server = new Y.Doc()
  const alice = new Y.Doc()
  const text = new Y.XmlText('draft')
  server.getXmlFragment('body').insert(0, [text])
  server.getMap('meta').set('status', 'draft')
  sync(server, alice)
  const keystroke = updateOf(alice, () => (alice.getXmlFragment('body').get(0) as Y.XmlText).insert(2, 'x'))
  const overwrite = updateOf(alice, () => alice.getMap('meta').set('status', 'review'))
  const check = (update: Uint8Array) => {
    const result = checkUpdateStructure(update)
    assert.ok(result.ok, 'a valid update passes the structural walk')
    return maySetFields(server, result.dependencies)
  }
  assert.equal(check(keystroke), false)
  assert.equal(check(overwrite), true)
})
