import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { currentItems, fieldsSetBy } from './conflicts.ts'

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
