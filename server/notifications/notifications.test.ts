import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import type { Notification } from './notification.ts'

type Listing = { notifications: Notification[]; unread: number }

describe('lasting notifications of review decisions', () => {
  let server: TestServer
  let adminToken: string
  const clients = gateClientPool()
  const api = async <T>(token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${server.httpUrl}/api/notifications${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, body: (await response.json()) as T }
  }
  /** A held Value change by `user`, its review item id; the proposer is gone again before anyone decides. */
  const holdValue = async (room: string, value: number): Promise<string> => {
    const editor = await clients.open(server, room)
    editor.map('financial').set('value', value)
    const id = await eventually(() => {
      const held = editor.notices.find((notice) => notice.outcome === 'review')
      assert.ok(held?.reviewId, JSON.stringify(editor.notices))
      return held.reviewId
    })
    editor.destroy()
    return id
  }

  before(async () => {
    server = await startServer()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  test('a decision while the proposer is away is listed for them (newest first, unread), and marked read over HTTP', async () => {
    const alice = await server.token()
    assert.deepEqual((await api<Listing>(alice, 'GET', '')).body, { notifications: [], unread: 0 })

    const rejectedId = await holdValue('proposal/n-1', 12_000)
    const rejected = await adminRequest<ReviewItem>(server, adminToken, 'POST', `/reviews/${rejectedId}/reject`, { reason: 'not agreed with finance' })
    assert.equal(rejected.body.status, 'rejected')
    const approvedId = await holdValue('proposal/n-2', 9_000)
    assert.equal((await adminRequest<ReviewItem>(server, adminToken, 'POST', `/reviews/${approvedId}/approve`)).body.status, 'approved')

    const listed = await api<Listing>(alice, 'GET', '')
    assert.equal(listed.status, 200)
    assert.equal(listed.body.unread, 2)
    assert.deepEqual(
      listed.body.notifications.map(({ kind, document, read, detail }) => ({ kind, document, read, detail })),
      [
        { kind: 'review-decided', document: 'proposal/n-2', read: false, detail: { reviewId: approvedId, ruleId: 'financial-review', paths: ['financial.value'], outcome: 'approved', decidedBy: 'ada' } },
        { kind: 'review-decided', document: 'proposal/n-1', read: false, detail: { reviewId: rejectedId, ruleId: 'financial-review', paths: ['financial.value'], outcome: 'rejected', reason: 'not agreed with finance', decidedBy: 'ada' } },
      ],
    )

    const [newest, older] = listed.body.notifications
    const marked = await api<{ marked: number; unread: number }>(alice, 'POST', '/read', { ids: [older!.id] })
    assert.deepEqual(marked.body, { marked: 1, unread: 1 })
    assert.deepEqual((await api<Listing>(alice, 'GET', '')).body.notifications.map((n) => [n.id, n.read]), [[newest!.id, false], [older!.id, true]])
    assert.deepEqual((await api<{ marked: number; unread: number }>(alice, 'POST', '/read', { all: true })).body, { marked: 1, unread: 0 })
  })

  test('nobody else sees them: another user, the same user id in another tenant; bad requests are refused', async () => {
    const bob = await server.token({ user: 'bob' })
    const aliceAtGlobex = await server.token({ tenant: 'globex' })
    assert.deepEqual((await api<Listing>(bob, 'GET', '')).body, { notifications: [], unread: 0 })
    assert.deepEqual((await api<Listing>(aliceAtGlobex, 'GET', '')).body, { notifications: [], unread: 0 })
    // Naming someone else's notification marks nothing.
    const alices = (await api<Listing>(await server.token(), 'GET', '')).body.notifications
    assert.ok(alices.length > 0, 'alices.length > 0')
    assert.deepEqual((await api<{ marked: number }>(bob, 'POST', '/read', { ids: alices.map((n) => n.id), all: false })).body.marked, 0)

    assert.equal((await api(bob, 'POST', '/read', { ids: 'all of them' })).status, 400)
    assert.equal((await api('', 'GET', '')).status, 401)
    assert.equal((await api(bob, 'POST', '')).status, 405)
  })
})
