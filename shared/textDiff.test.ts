import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { applyTextSplice, textSplice } from './textDiff.ts'

test('the splice keeps the common prefix and suffix and replaces only what lies between', () => {
  assert.deepEqual(textSplice('Fleet renewal', 'Fleet fleet renewal'), { index: 6, deleteCount: 0, insert: 'fleet ' })
  assert.deepEqual(textSplice('Fleet renewal', 'Fleet'), { index: 5, deleteCount: 8, insert: '' })
  assert.deepEqual(textSplice('abc', 'abc'), { index: 3, deleteCount: 0, insert: '' })
  assert.deepEqual(textSplice('', 'new'), { index: 0, deleteCount: 0, insert: 'new' })
  // A repeated letter: the prefix wins, the suffix never overlaps it.
  assert.deepEqual(textSplice('aa', 'aaa'), { index: 2, deleteCount: 0, insert: 'a' })
})

test('a surrogate pair is never split: an emoji replaced by another is one splice of whole characters', () => {
  const splice = textSplice('a😀b', 'a😃b')
  assert.deepEqual(splice, { index: 1, deleteCount: 2, insert: '😃' })
})

test('applied to a Y.Text, every splice gives exactly the target, and a concurrent edit elsewhere survives', () => {
  const pairs = [['Untitled proposal', 'Fleet renewal'], ['x😀y😀z', 'x😀😀z'], ['same', 'same'], ['abc', ''], ['', 'abc'], ['aaaa', 'aa']]
  for (const [from, to] of pairs) {
    const doc = new Y.Doc()
    const text = doc.getText('title')
    text.insert(0, from!)
    doc.transact(() => applyTextSplice(text, text.toString(), to!))
    assert.equal(text.toString(), to)
  }
  // Alice renames the end while Bob types at the start: both edits are kept.
  const alice = new Y.Doc()
  alice.getText('title').insert(0, 'Proposal draft')
  const bob = new Y.Doc()
  Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice))
  applyTextSplice(alice.getText('title'), 'Proposal draft', 'Proposal final')
  applyTextSplice(bob.getText('title'), 'Proposal draft', 'Fleet Proposal draft')
  Y.applyUpdate(alice, Y.encodeStateAsUpdate(bob))
  Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice))
  assert.equal(alice.getText('title').toString(), 'Fleet Proposal final')
  assert.equal(bob.getText('title').toString(), 'Fleet Proposal final')
})

test('the caret decides an ambiguous splice: a typed space lands where the typist put it', () => {
  // Bob's caret sits before Alice's " of Alice", which arrived at it; he types a space.
  assert.deepEqual(textSplice('New customer of Alice', 'New customer  of Alice', 13), { index: 12, deleteCount: 0, insert: ' ' })
  // Without the caret the leftmost-longest prefix puts it after Alice's space.
  assert.deepEqual(textSplice('New customer of Alice', 'New customer  of Alice'), { index: 13, deleteCount: 0, insert: ' ' })
  // Backspace over the middle of three letters, and a replaced selection.
  assert.deepEqual(textSplice('aaa', 'aa', 1), { index: 1, deleteCount: 1, insert: '' })
  assert.deepEqual(textSplice('abcabc', 'abXabc', 3), { index: 2, deleteCount: 1, insert: 'X' })
  // A caret that cannot be right (outside the text) is ignored, and the surrogate pair rule holds.
  assert.deepEqual(textSplice('aa', 'aaa', 9), { index: 2, deleteCount: 0, insert: 'a' })
  assert.deepEqual(textSplice('a😀😀b', 'a😀😀😀b', 3), { index: 1, deleteCount: 0, insert: '😀' })
})

test('two people typing runs at one place at once, each caret-anchored, keep both runs whole on every replica', () => {
  // Each typist's caret follows remote changes the way an input does: text arriving right at it
  // stays after it. Keystrokes interleave and the replicas exchange updates with a varying lag.
  const typeTogether = (seed: number, withCaret: boolean): string => {
    let state = seed
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648)
    const origin = new Y.Doc()
    origin.getText('name').insert(0, 'New customer')
    const typists = [' of Alice', ' by Bob'].map((run, id) => {
      const doc = new Y.Doc()
      doc.clientID = id + 1
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(origin))
      const text = doc.getText('name')
      return { doc, text, run, typed: 0, caret: Y.createRelativePositionFromTypeIndex(text, text.length, -1) }
    })
    const sync = () => {
      const [a, b] = typists
      Y.applyUpdate(a!.doc, Y.encodeStateAsUpdate(b!.doc, Y.encodeStateVector(a!.doc)))
      Y.applyUpdate(b!.doc, Y.encodeStateAsUpdate(a!.doc, Y.encodeStateVector(b!.doc)))
    }
    while (typists.some((typist) => typist.typed < typist.run.length)) {
      const typist = typists[random() < 0.5 ? 0 : 1]!
      if (typist.typed < typist.run.length) {
        const shown = typist.text.toString()
        const at = Y.createAbsolutePositionFromRelativePosition(typist.caret, typist.doc)!.index
        const typed = shown.slice(0, at) + typist.run[typist.typed++] + shown.slice(at)
        typist.doc.transact(() => applyTextSplice(typist.text, shown, typed, withCaret ? at + 1 : undefined))
        typist.caret = Y.createRelativePositionFromTypeIndex(typist.text, at + 1, -1)
      }
      if (random() < 0.4) sync()
    }
    sync()
    const [a, b] = typists.map((typist) => typist.text.toString())
    assert.equal(a, b, `seed ${seed}: the replicas differ`)
    return a!
  }
  const merged = (value: string) => value.includes(' of Alice') && value.includes(' by Bob')
  for (let seed = 1; seed <= 200; seed++) assert.ok(merged(typeTogether(seed, true)), `seed ${seed}: ${typeTogether(seed, true)}`)
  // The test can fail: without the caret some interleavings split a run.
  assert.ok(Array.from({ length: 200 }, (_, i) => typeTogether(i + 1, false)).some((value) => !merged(value)), 'no interleaving split a run without the caret')
})
