import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { documentDigest, sameBytes } from './documentDigest.ts'

const docWithClient = (clientID: number): Y.Doc => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  return doc
}

const sameDigest = (a: Y.Doc, b: Y.Doc): boolean => sameBytes(documentDigest(a), documentDigest(b))

test('replicas that received the same operations in other splits, orders and root classes digest the same', () => {
  const writer = docWithClient(1)
  const updates: Uint8Array[] = []
  writer.on('update', (update: Uint8Array) => updates.push(update))
  const title = writer.getText('title')
  for (const char of 'Quarterly proposal') title.insert(title.length, char) // one item per keystroke on the way
  title.format(0, 9, { bold: true })
  writer.getMap('meta').set('status', 'draft')
  writer.getMap('meta').set('value', 12_000)
  const team = new Y.Map<unknown>()
  writer.getMap('meta').set('team', team)
  team.set('alice', 'lead')
  team.set('bob', 'member')
  title.delete(0, 1)
  const body = writer.getXmlFragment('body')
  const paragraph = new Y.XmlElement('paragraph')
  body.insert(0, [paragraph])
  paragraph.insert(0, [new Y.XmlText('hello')])

  // One replica gets every update on its own, in order, and names its roots as the app does
  // (one of them stays empty: the writer never named it).
  const inOrder = docWithClient(2)
  inOrder.getText('title')
  inOrder.getMap('meta')
  inOrder.getMap('financial')
  for (const update of updates) Y.applyUpdate(inOrder, update)
  // Another gets them merged into one, in reverse (pending until complete), never naming a root.
  const merged = docWithClient(3)
  for (const update of [...updates].reverse()) Y.applyUpdate(merged, update)
  // A third from the writer's whole state (items merged as the writer holds them).
  const whole = docWithClient(4)
  Y.applyUpdate(whole, Y.encodeStateAsUpdate(writer))

  assert.ok(sameDigest(writer, inOrder), 'update by update, roots named first')
  assert.ok(sameDigest(writer, merged), 'merged, reversed, roots never named')
  assert.ok(sameDigest(writer, whole), 'from the whole state')
})

test('map keys set in another order by two clients digest the same once both have both', () => {
  const a = docWithClient(1)
  const b = docWithClient(2)
  a.getMap('meta').set('x', 1)
  b.getMap('meta').set('y', 2)
  const fromA = Y.encodeStateAsUpdate(a)
  const fromB = Y.encodeStateAsUpdate(b)
  Y.applyUpdate(a, fromB)
  Y.applyUpdate(b, fromA)
  assert.ok(sameDigest(a, b), 'converged replicas')
})

test('same operations but other content (a damaged copy) digest differently; so does a missing deletion', () => {
  const original = docWithClient(7)
  original.getText('title').insert(0, 'hello')
  const forged = docWithClient(7) // same client and clocks, other characters: same state vector
  forged.getText('title').insert(0, 'jello')
  assert.deepEqual(Y.encodeStateVector(original), Y.encodeStateVector(forged), 'the state vectors agree')
  assert.ok(!sameDigest(original, forged), 'other content, other digest')

  const withDeletion = docWithClient(8)
  Y.applyUpdate(withDeletion, Y.encodeStateAsUpdate(original))
  const withoutDeletion = docWithClient(9)
  Y.applyUpdate(withoutDeletion, Y.encodeStateAsUpdate(original))
  withDeletion.getText('title').delete(0, 1)
  // A deletion moves no state vector: only the content tells the two apart.
  assert.deepEqual(Y.encodeStateVector(withDeletion), Y.encodeStateVector(withoutDeletion), 'the state vectors agree')
  assert.ok(!sameDigest(withDeletion, withoutDeletion), 'a deletion changes the digest')
})

test('a value in a map differs from the same value in a nested map, and formatting counts', () => {
  const flat = docWithClient(1)
  flat.getMap('meta').set('a', 'x')
  const plain = docWithClient(1)
  plain.getMap('meta').set('a', 'y')
  assert.ok(!sameDigest(flat, plain), 'another value')

  const bold = docWithClient(5)
  bold.getText('t').insert(0, 'hi', { bold: true })
  const italic = docWithClient(5)
  italic.getText('t').insert(0, 'hi', { italic: true })
  assert.ok(!sameDigest(bold, italic), 'another format')
})

test('a map nested 20,000 deep is read without recursion', () => {
  const doc = docWithClient(1)
  doc.transact(() => {
    let map = doc.getMap('meta')
    for (let depth = 0; depth < 20_000; depth++) {
      const inner = new Y.Map<unknown>()
      map.set('next', inner)
      map = inner as Y.Map<unknown>
    }
  })
  assert.equal(documentDigest(doc).byteLength, 32, 'a SHA-256')
})
