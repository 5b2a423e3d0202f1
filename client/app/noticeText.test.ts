import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeNotice } from './noticeText.ts'

test('a notice names the field by its form label and keeps the rule id and path in the detail', () => {
  const described = describeNotice('proposal', {
    outcome: 'rejected',
    ruleId: 'approver-role',
    path: 'meta.status',
    message: 'approving needs financial.value > 0; approving needs a meta.customerId',
  })
  assert.equal(described.text, 'Your change to Status was not saved: approving needs Value > 0; approving needs a Customer')
  assert.equal(described.kind, 'error')
  assert.equal(described.detail, 'Rule: approver-role · field: meta.status')
})

test('a notice without a field (a viewer’s whole update refused) speaks of "your change", never of an empty name', () => {
  const described = describeNotice('customer', { outcome: 'rejected', ruleId: 'read-only', path: '', message: 'you have read-only access (viewer): your changes are not saved' })
  assert.equal(described.text, 'Your change was not saved: you have read-only access (viewer): your changes are not saved')
  assert.equal(described.detail, 'Rule: read-only')
})

test('paths without a form field are named by their root, or generically; statuses in words', () => {
  assert.match(describeNotice('proposal', { outcome: 'rejected', ruleId: 'team-admin-only', path: 'team.u-7', message: 'x' }).text, /^Your change to Team was not saved/)
  assert.match(describeNotice('content', { outcome: 'review', ruleId: 'schema', path: 'meta.unknownKey', message: 'x' }).text, /^Your change to a field of this document is held for review/)
  assert.equal(
    describeNotice('proposal', { outcome: 'rejected', ruleId: 'status-transition', path: 'meta.status', message: 'status cannot move from "draft" to "approved" (allowed: in_review)' }).text,
    'Your change to Status was not saved: status cannot move from "draft" to "approved" (allowed: in review)',
  )
  assert.equal(
    describeNotice('proposal', { outcome: 'conflict', ruleId: 'higher-role-wins', path: 'financial.marginPct', message: 'bob changed financial.marginPct at the same time' }).text,
    'Conflict on Margin %: bob changed Margin % at the same time',
  )
  const decided = describeNotice('proposal', { outcome: 'review-decided', ruleId: 'financial-review', path: 'financial.value', message: 'approved', reviewId: 'r-1' })
  assert.equal(decided.text, 'Review of your change to Value: approved')
  assert.equal(decided.detail, 'Rule: financial-review · field: financial.value · review: r-1')
})

test('the writer whose value replaced a concurrent one is told, in the field’s words', () => {
  const described = describeNotice('proposal', { outcome: 'conflict', ruleId: 'timestamp-wins', path: 'meta.dueDate', message: 'Your meta.dueDate replaced a value Bob set at the same time' })
  assert.equal(described.text, 'Your Due date replaced a value Bob set at the same time')
  assert.equal(described.kind, 'info')
})
