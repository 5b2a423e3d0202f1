import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PendingReview } from '../../shared/extensionProtocol.ts'
import { heldValueText } from './heldValueNotes.ts'
import { describeNotification } from './notificationsPanel.ts'

const held: PendingReview = {
  id: 'r-1',
  path: 'financial.value',
  proposer: { userId: 'bob', name: 'Bob' },
  proposedAt: 1,
  updatedAt: 1,
  rule: 'financial-review',
  kind: 'field',
  proposed: 12_000,
}

test('a held value reads as the proposer waits and as a decider is asked', () => {
  assert.equal(heldValueText(held, 'bob'), "12,000 — waiting for a manager's review")
  assert.equal(heldValueText(held, 'ada'), 'Bob proposes 12,000 (financial review)')
  assert.equal(heldValueText({ ...held, proposer: { userId: 'bob' }, proposed: undefined }, 'ada'), 'bob proposes (empty) (financial review)')
})

test('a review decision reads in the form\'s words: field label, outcome, who, reason', () => {
  const notification = {
    id: 'n-1',
    kind: 'review-decided',
    at: 1,
    read: false,
    document: 'proposal/p-1',
    detail: { reviewId: 'r-1', ruleId: 'financial-review', paths: ['financial.value'], outcome: 'rejected', reason: 'over budget', decidedBy: 'ada' },
  }
  assert.deepEqual(describeNotification(notification), { title: 'Your change to Value', text: 'rejected by ada: over budget' })
  assert.deepEqual(describeNotification({ ...notification, detail: { ...notification.detail, outcome: 'stale', reason: undefined } }), {
    title: 'Your change to Value',
    text: 'not applied: the field changed before the decision',
  })
})
