import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import type { Actor } from '../../shared/rules/ruleTypes.ts'
import { lockReasons } from './fieldLocks.ts'

const actor = (role: Actor['role']): Actor => ({ userId: 'u', role, tenant: 'acme', legal: false })

const proposal = (status: string): Y.Doc => {
  const doc = new Y.Doc()
  doc.transact(() => {
    doc.getMap('meta').set('status', status)
    doc.getMap('meta').set('title', 'T')
    doc.getMap('meta').set('customerId', 'c-1')
    doc.getMap('financial').set('value', 1000)
  })
  return doc
}

test("an approved proposal's customer and figures are locked for everyone but an admin, with the rule's reason in the form's words", () => {
  for (const status of ['approved', 'submitted', 'won']) {
    const doc = proposal(status)
    const meta = doc.getMap('meta')
    const financial = doc.getMap('financial')
    for (const role of ['editor', 'manager'] as const) {
      const lockOf = lockReasons('proposal', actor(role), doc)
      assert.equal(lockOf(financial, 'value'), `the proposal is approved; only an admin can change Value`)
      assert.match(lockOf(financial, 'discountPct') ?? '', /only an admin can change Discount %$/)
      assert.equal(lockOf(meta, 'customerId'), `the proposal is ${status}; only an admin can change its customer`)
      assert.equal(lockOf(meta, 'title'), null)
      assert.equal(lockOf(meta, 'dueDate'), null)
    }
    const admin = lockReasons('proposal', actor('admin'), doc)
    assert.equal(admin(financial, 'value'), null)
    assert.equal(admin(meta, 'customerId'), null)
  }
})

test('before approval nothing is locked (a held-for-review change is not a lock), and a map that is no root is never locked', () => {
  const doc = proposal('in_review')
  const lockOf = lockReasons('proposal', actor('editor'), doc)
  assert.equal(lockOf(doc.getMap('financial'), 'value'), null)
  assert.equal(lockOf(doc.getMap('meta'), 'customerId'), null)
  assert.equal(lockOf(new Y.Map(), 'value'), null)
})
