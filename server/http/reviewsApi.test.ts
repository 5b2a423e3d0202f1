import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { TestUser } from '../../shared/testing/devTokens.ts'
import type { Notification } from '../notifications/notification.ts'
import type { ReviewView } from '../reviews/reviewView.ts'
import { apiRequest } from '../testing/apiRequests.ts'
import { gateClientPool, type GateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

const EDITOR: TestUser = { user: 'alice', name: 'Alice Editor' }
const MANAGER: TestUser = { user: 'max', role: 'manager', name: 'Max Manager' }
const ADMIN: TestUser = { user: 'ada', role: 'admin', name: 'Ada Admin' }

type Error = { error: { code: string } }

describe('the review API (/api/reviews): inbox, my pending changes, decisions', () => {
  let server: TestServer
  const clients = gateClientPool()
  const open = (room: string, user: TestUser = {}) => clients.open(server, room, user)
  const api = async <T>(user: TestUser, method: 'GET' | 'POST', path: string, body?: unknown) => apiRequest<T>(server, await server.token(user), method, path, body)
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  /** An editor's held Value change on a titled proposal; its review id. */
  const heldValue = async (room: string, value: number, proposer: TestUser = EDITOR): Promise<{ editor: GateClient; reviewId: string }> => {
    const editor = await open(room, proposer)
    editor.doc.getText('title').insert(0, `Deal ${room}`)
    editor.map('financial').set('value', value)
    const reviewId = await eventually(() => {
      const held = editor.notices.find((notice) => notice.outcome === 'review' && notice.path === 'financial.value')
      assert.ok(held?.reviewId, JSON.stringify(editor.notices))
      return held.reviewId
    })
    return { editor, reviewId }
  }

  test('a manager sees an editor\'s held figure with proposer, title and both values, approves it, and it is live everywhere', async () => {
    const room = 'proposal/ra-1'
    const { editor, reviewId } = await heldValue(room, 12_000)
    const inbox = await api<{ reviews: ReviewView[]; total: number }>(MANAGER, 'GET', '/reviews')
    assert.equal(inbox.status, 200)
    const item = inbox.body.reviews.find((review) => review.id === reviewId)
    assert.ok(item, JSON.stringify(inbox.body))
    assert.deepEqual(item.proposer, { userId: 'alice', name: 'Alice Editor' })
    assert.deepEqual(item.document, { name: room, type: 'proposal', id: 'ra-1', title: `Deal ${room}` })
    assert.deepEqual(item.changes, [{ path: 'financial.value', kind: 'field', current: null, proposed: 12_000 }])
    assert.equal(item.mayDecide, true)

    const approved = await api<ReviewView>(MANAGER, 'POST', `/reviews/${reviewId}/approve`)
    assert.equal(approved.status, 200, JSON.stringify(approved.body))
    assert.equal(approved.body.status, 'approved')
    assert.equal(approved.body.decidedBy, 'max')
    await eventually(() => assert.equal(editor.map('financial').get('value'), 12_000))
    // Decided once: the second decision is a conflict, through this API as through the admin one.
    assert.equal((await api<Error>(ADMIN, 'POST', `/reviews/${reviewId}/approve`)).status, 409)
    // The approval is in the log as the manager's (an admin change: recorded the same online and offline, so by id).
    const storage = `${server.tenant}/${room}`
    const events = await server.server.store.readEvents(storage)
    const approval = events.find((event) => event.reviewId === reviewId)
    assert.equal(approval?.outcome, 'admin')
    assert.equal(approval?.userId, 'max')
  })

  test('role checks: an editor has no inbox and cannot decide; a manager without legal rights cannot decide legal text, an admin can', async () => {
    const { reviewId } = await heldValue('proposal/ra-2', 5_000)
    const inbox = await api<Error>(EDITOR, 'GET', '/reviews')
    assert.equal(inbox.status, 403)
    assert.equal(inbox.body.error.code, ErrorCode.NotReviewer)
    const approve = await api<Error>({ user: 'eve', name: 'Eve Editor' }, 'POST', `/reviews/${reviewId}/approve`)
    assert.equal(approve.status, 403)
    assert.equal(approve.body.error.code, ErrorCode.NotReviewer)
    assert.equal((await api<Error>({ user: 'vic', role: 'viewer' }, 'POST', `/reviews/${reviewId}/reject`, { reason: 'no' })).status, 403)

    // Legal text: held for a legal reviewer.
    const room = 'content/ra-legal'
    const lawyer = await open(room, { user: 'lea', legal: true })
    const editor = await open(room, EDITOR)
    lawyer.doc.transact(() => {
      lawyer.map('meta').set('legal', true)
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText('Liability is limited.')])
      lawyer.doc.getXmlFragment('body').insert(0, [paragraph])
    })
    await eventually(() => assert.equal(editor.doc.getXmlFragment('body').length, 1))
    const text = () => (editor.doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText
    editor.doc.transact(() => {
      text().delete(13, 8)
      text().insert(13, 'capped.')
      text().format(0, 9, { strong: {} })
    })
    const legalId = await eventually(() => {
      const held = editor.notices.find((notice) => notice.outcome === 'review' && notice.ruleId === 'legal-review')
      assert.ok(held?.reviewId, JSON.stringify(editor.notices))
      return held.reviewId
    })
    const managerInbox = await api<{ reviews: ReviewView[] }>(MANAGER, 'GET', '/reviews')
    assert.equal(managerInbox.body.reviews.some((review) => review.id === legalId), false, 'a manager without legal rights does not see legal items')
    const refused = await api<Error>(MANAGER, 'POST', `/reviews/${legalId}/approve`)
    assert.equal(refused.status, 403)
    assert.equal(refused.body.error.code, ErrorCode.NotReviewer)

    // The admin's inbox shows it as a formatted diff: the deletion, the insertion, the new bold.
    const adminInbox = await api<{ reviews: ReviewView[] }>(ADMIN, 'GET', '/reviews?type=content&rule=legal-review')
    assert.deepEqual(adminInbox.body.reviews.map((review) => review.id), [legalId])
    const [change] = adminInbox.body.reviews[0]!.changes
    assert.ok(change?.kind === 'rich-text' && change.diff, JSON.stringify(change))
    assert.deepEqual(change.diff, [
      {
        kind: 'paragraph',
        runs: [
          { text: 'Liability', change: 'deleted' },
          { text: 'Liability', change: 'inserted', bold: true },
          { text: ' is ', change: 'same' },
          { text: 'limited', change: 'deleted' },
          { text: 'capped', change: 'inserted' },
          { text: '.', change: 'same' },
        ],
      },
    ])
    const approved = await api<ReviewView>({ user: 'lea', role: 'manager', legal: true }, 'POST', `/reviews/${legalId}/approve`)
    assert.equal(approved.body.status, 'approved', JSON.stringify(approved.body))
    await eventually(() => assert.equal(lawyer.doc.getXmlFragment('body').toString(), '<paragraph><strong>Liability</strong> is capped.</paragraph>'))
  })

  test('tenant scoping: another tenant\'s manager neither lists nor reads nor decides the item', async () => {
    const { reviewId } = await heldValue('proposal/ra-3', 7_000)
    const globex: TestUser = { user: 'max', role: 'manager', tenant: 'globex' }
    const inbox = await api<{ reviews: ReviewView[] }>(globex, 'GET', '/reviews')
    assert.equal(inbox.status, 200)
    assert.deepEqual(inbox.body.reviews, [])
    assert.equal((await api<Error>(globex, 'GET', `/reviews/${reviewId}`)).status, 404)
    const decided = await api<Error>(globex, 'POST', `/reviews/${reviewId}/approve`)
    assert.equal(decided.status, 404)
    assert.equal(decided.body.error.code, ErrorCode.ReviewNotFound)
  })

  test('my pending changes: the proposer\'s own items; a rejection with its reason reaches them as a notification', async () => {
    const proposer: TestUser = { user: 'carol', name: 'Carol Editor' }
    const { reviewId } = await heldValue('proposal/ra-4', 9_000, proposer)
    const mine = await api<{ reviews: ReviewView[] }>(proposer, 'GET', '/reviews/mine')
    assert.deepEqual(mine.body.reviews.map((review) => [review.id, review.status, review.mayDecide]), [[reviewId, 'pending', false]])
    assert.deepEqual((await api<{ reviews: ReviewView[] }>(EDITOR, 'GET', '/reviews/mine')).body.reviews.some((review) => review.id === reviewId), false)
    // Someone else's item is not theirs to read.
    assert.equal((await api<Error>(EDITOR, 'GET', `/reviews/${reviewId}`)).status, 403)

    const rejected = await api<ReviewView>(MANAGER, 'POST', `/reviews/${reviewId}/reject`, { reason: 'over budget' })
    assert.equal(rejected.body.status, 'rejected')
    assert.equal(rejected.body.reason, 'over budget')
    assert.deepEqual((await api<{ reviews: ReviewView[] }>(proposer, 'GET', '/reviews/mine')).body.reviews, [])
    const decided = await api<{ reviews: ReviewView[] }>(proposer, 'GET', '/reviews/mine?status=all')
    assert.deepEqual(decided.body.reviews.map((review) => [review.id, review.status, review.reason]), [[reviewId, 'rejected', 'over budget']])
    const notifications = await api<{ notifications: Notification[] }>(proposer, 'GET', '/notifications')
    assert.deepEqual(notifications.body.notifications[0]?.detail, { reviewId, ruleId: 'financial-review', paths: ['financial.value'], outcome: 'rejected', reason: 'over budget', decidedBy: 'max' })
  })

  test('a field changed since the proposal names who changed it and when; approving then answers stale', async () => {
    const room = 'proposal/ra-5'
    const { reviewId } = await heldValue(room, 3_000)
    const manager = await open(room, MANAGER)
    manager.map('financial').set('value', 4_000)
    await eventually(async () => {
      const item = (await api<ReviewView>(MANAGER, 'GET', `/reviews/${reviewId}`)).body
      assert.equal(item.changedSince?.userName, 'Max Manager')
      assert.deepEqual(item.changes, [{ path: 'financial.value', kind: 'field', current: 4_000, proposed: 3_000 }])
    })
    const stale = await api<ReviewView>(MANAGER, 'POST', `/reviews/${reviewId}/approve`)
    assert.equal(stale.body.status, 'stale')
    assert.equal(stale.body.changedSince?.userId, 'max')
  })

  test('bounds and filters: status, type and limit are checked; a page holds at most `limit` items, newest first', async () => {
    await heldValue('proposal/ra-6', 100)
    await heldValue('proposal/ra-7', 200)
    const page = await api<{ reviews: ReviewView[]; total: number }>(ADMIN, 'GET', '/reviews?type=proposal&rule=financial-review&limit=1')
    assert.equal(page.body.reviews.length, 1)
    assert.ok(page.body.total >= 2, JSON.stringify(page.body.total))
    assert.equal(page.body.reviews[0]!.document.name, 'proposal/ra-7')
    for (const query of ['status=maybe', 'type=invoice', 'limit=0', 'limit=201', 'limit=1e3']) {
      const refused = await api<Error>(ADMIN, 'GET', `/reviews?${query}`)
      assert.equal(refused.status, 400, query)
      assert.equal(refused.body.error.code, ErrorCode.BadRequest, query)
    }
    assert.equal((await fetch(`${server.httpUrl}/api/reviews`)).status, 401)
  })

  test('held values on the field reach whoever may decide them: a manager sees a held figure live, an editor does not', async () => {
    const room = 'proposal/ra-8'
    const manager = await open(room, MANAGER)
    const other = await open(room, { user: 'eve', name: 'Eve Editor' })
    const { reviewId } = await heldValue(room, 6_000)
    await eventually(() => assert.deepEqual(manager.pendingReviews.at(-1)?.map((review) => [review.id, review.path, review.proposed]), [[reviewId, 'financial.value', 6_000]]))
    assert.deepEqual(other.pendingReviews, [])
    // And on connect.
    const lateManager = await open(room, { user: 'mia', role: 'manager' })
    await eventually(() => assert.deepEqual(lateManager.pendingReviews.at(-1)?.map((review) => review.id), [reviewId]))
    await api<ReviewView>(MANAGER, 'POST', `/reviews/${reviewId}/approve`)
    await eventually(() => assert.deepEqual(manager.pendingReviews.at(-1), []))
  })
})
