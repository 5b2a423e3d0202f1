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
