import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { PROPOSAL_STATUSES } from '../schemas.ts'
import { precheckEdits } from './precheck.ts'
import type { Actor, DocumentView } from './ruleTypes.ts'

const viewOf = (doc: Y.Doc): DocumentView => ({ get: (root, key) => doc.getMap(root).get(key) })
const editor: Actor = { userId: 'alice', role: 'editor', tenant: 'acme', legal: false }
const manager: Actor = { ...editor, userId: 'max', role: 'manager' }

test('the client pre-checks an edit with the server\'s rules: the status choices a user may make', () => {
  const doc = new Y.Doc()
  doc.getMap('meta').set('status', 'in_review')
  doc.getMap('meta').set('customerId', 'c-1')
  doc.getMap('financial').set('value', 100)
  const allowed = (actor: Actor) =>
    PROPOSAL_STATUSES.filter((status) => precheckEdits('proposal', actor, viewOf(doc), [{ root: 'meta', key: 'status', value: status }]).length === 0)
  // Re-setting the current status is no change; an editor can move nowhere else from in_review.
  assert.deepEqual(allowed(editor), ['in_review'])
  assert.deepEqual(allowed(manager), ['in_review', 'approved', 'rejected'])
  const [violation] = precheckEdits('proposal', editor, viewOf(doc), [{ root: 'meta', key: 'status', value: 'approved' }])
  assert.equal(violation?.ruleId, 'approver-role')
  assert.deepEqual(precheckEdits('proposal', editor, viewOf(doc), [{ root: 'meta', key: 'title', value: 'Fine' }]), [])
})
