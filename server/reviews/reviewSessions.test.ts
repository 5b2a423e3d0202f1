import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { DocumentStore } from '../persistence/documentStore.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { gateClientPool, type GateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { liveDocuments } from '../admin/liveDocuments.ts'
import { ReviewDecisions } from './reviewDecisions.ts'
import { reviewKey, type ReviewItem } from './reviewItem.ts'
import { PENDING_INDEX_MARKER } from './pendingReviewIndex.ts'

/**
 * One review item per editing session: held edits of one field by one proposer merge into that
 * proposer's pending item (told once), an item decided meanwhile is never touched again, and the
 * pending items travel to the clients that may see them (extension subtype 2).
 */
describe('review items per editing session', () => {
  let server: TestServer
  let adminToken: string
  const clients = gateClientPool()
  const open = (room: string, user: Parameters<typeof clients.open>[2] = {}) => clients.open(server, room, user)
  const api = <T>(method: 'GET' | 'POST', path: string, body?: unknown) => adminRequest<T>(server, adminToken, method, path, body)
  const pendingOf = async (room: string): Promise<ReviewItem[]> =>
    (await api<{ reviews: ReviewItem[] }>('GET', '/reviews?status=pending')).body.reviews.filter((item) => item.document === room)
  const reviewNotices = (client: GateClient) => client.notices.filter((notice) => notice.outcome === 'review')
  /** Runs `edit` (one message per transaction) and waits until the server stored all `messages` of them. */
  const sendAll = async (client: GateClient, messages: number, edit: () => void) => {
    const before = client.durableMessages()
    edit()
    await eventually(() => assert.ok(client.durableMessages() >= before + messages, `${client.durableMessages()} of ${before + messages} durable`))
  }

  before(async () => {
    server = await startServer()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  test('17 held keystrokes in legal content make one pending item proposing the whole typed text, told once', async () => {
    const room = 'content/session-legal'
    const lawyer = await open(room, { user: 'lea', legal: true })
    const editor = await open(room)
    const body = (client: { doc: Y.Doc }) => client.doc.getXmlFragment('body').toString()
    lawyer.doc.transact(() => {
      lawyer.map('meta').set('legal', true)
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText('Terms: ')])
      lawyer.doc.getXmlFragment('body').insert(0, [paragraph])
    })
    const original = '<paragraph>Terms: </paragraph>'
    await eventually(() => assert.equal(body(editor), original))

    const typed = 'payment in 30 day'
    assert.equal(typed.length, 17)
    const text = () => (editor.doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText
    // One transaction, so one update message, per keystroke.
    await sendAll(editor, typed.length, () => [...typed].forEach((character, index) => text().insert(7 + index, character)))
    await eventually(() => assert.equal(body(editor), original))

    const pending = await pendingOf(room)
    assert.equal(pending.length, 1, JSON.stringify(pending.map((item) => item.id)))
    assert.equal(reviewNotices(editor).length, 1, JSON.stringify(editor.notices))
    assert.equal(reviewNotices(editor)[0]!.reviewId, pending[0]!.id)
    // The proposer sees the proposed text as plain text.
    await eventually(() => assert.deepEqual(editor.pendingReviews.at(-1)?.map((review) => [review.id, review.path, review.proposed]), [[pending[0]!.id, 'body', `Terms: ${typed}`]]))

    const approved = await api<ReviewItem>('POST', `/reviews/${pending[0]!.id}/approve`)
    assert.equal(approved.body.status, 'approved')
    await eventually(() => {
      assert.equal(body(editor), `<paragraph>Terms: ${typed}</paragraph>`)
      assert.equal(body(lawyer), `<paragraph>Terms: ${typed}</paragraph>`)
    })
  })

  test('Value 12,000 then 13,000 held: one item proposing 13,000 against the value before both; the log has both', async () => {
    const room = 'proposal/session-value'
    const manager = await open(room, { user: 'max', role: 'manager' })
    const editor = await open(room)
    manager.map('financial').set('value', 10_000)
    await eventually(() => assert.equal(editor.map('financial').get('value'), 10_000))

    await sendAll(editor, 1, () => editor.map('financial').set('value', 12_000))
    await eventually(() => assert.equal(editor.map('financial').get('value'), 10_000))
    const [first] = await pendingOf(room)
    assert.ok(first, 'first')
    await sendAll(editor, 1, () => editor.map('financial').set('value', 13_000))
    await eventually(() => assert.equal(editor.map('financial').get('value'), 10_000))

    const pending = await pendingOf(room)
    assert.equal(pending.length, 1)
    const [item] = pending
    assert.equal(item!.id, first.id)
    assert.deepEqual(item!.changes, [{ path: 'financial.value', root: 'financial', key: 'value', baseValue: 10_000, proposedValue: 13_000 }])
    assert.ok((item!.updatedAt ?? 0) >= item!.proposedAt, '(item!.updatedAt ?? 0) >= item!.proposedAt')
    assert.equal(reviewNotices(editor).length, 1)
    const { body } = await api<{ events: EventRecord[] }>('GET', `/docs/${room}/events`)
    assert.equal(body.events.filter((event) => event.outcome === 'review' && event.userId === 'alice').length, 2)

    assert.equal((await api<ReviewItem>('POST', `/reviews/${item!.id}/approve`)).body.status, 'approved')
    await eventually(() => assert.equal(manager.map('financial').get('value'), 13_000))
  })

  test('an item decided between two held edits is not modified: the next held edit opens a new item', async () => {
    const room = 'proposal/session-decided'
    const editor = await open(room)
    await sendAll(editor, 1, () => editor.map('financial').set('value', 12_000))
    const [first] = await pendingOf(room)
    assert.ok(first, 'first')
    assert.equal((await api<ReviewItem>('POST', `/reviews/${first.id}/approve`)).body.status, 'approved')
    await eventually(() => assert.equal(editor.map('financial').get('value'), 12_000))

    await sendAll(editor, 1, () => editor.map('financial').set('value', 13_000))
    const pending = await pendingOf(room)
    assert.equal(pending.length, 1)
    assert.notEqual(pending[0]!.id, first.id)
    assert.deepEqual(pending[0]!.changes.map((change) => [change.baseValue, change.proposedValue]), [[12_000, 13_000]])
    const decided = (await api<ReviewItem>('GET', `/reviews/${first.id}`)).body
    assert.equal(decided.status, 'approved')
    assert.deepEqual(decided.changes.map((change) => change.proposedValue), [12_000])
    assert.deepEqual(reviewNotices(editor).map((notice) => notice.reviewId), [first.id, pending[0]!.id])
  })

  test('pending reviews reach the proposer and an admin (also on connect), never another editor; a decision empties them', async () => {
    const room = 'proposal/session-visible'
    const editor = await open(room)
    const admin = await open(room, { user: 'ada', role: 'admin' })
    const other = await open(room, { user: 'bob' })
    await sendAll(editor, 1, () => editor.map('financial').set('value', 12_000))
    const [item] = await pendingOf(room)
    assert.ok(item, 'item')
    const expected = [{ id: item.id, path: 'financial.value', proposer: 'alice', rule: 'financial-review', kind: 'field', proposed: 12_000 }]
    const shown = (client: GateClient) =>
      client.pendingReviews.at(-1)?.map(({ id, path, proposer, rule, kind, proposed }) => ({ id, path, proposer: proposer.userId, rule, kind, proposed }))
    await eventually(() => {
      assert.deepEqual(shown(editor), expected)
      assert.deepEqual(shown(admin), expected)
    })
    const lateAdmin = await open(room, { user: 'adele', role: 'admin' })
    await eventually(() => assert.deepEqual(shown(lateAdmin), expected))
    const lateOther = await open(room, { user: 'bea' })

    assert.equal((await api<ReviewItem>('POST', `/reviews/${item.id}/reject`, { reason: 'too much' })).body.status, 'rejected')
    await eventually(() => {
      assert.deepEqual(shown(editor), [])
      assert.deepEqual(shown(admin), [])
      assert.deepEqual(shown(lateAdmin), [])
    })
    assert.deepEqual(other.pendingReviews, [])
    assert.deepEqual(lateOther.pendingReviews, [])
  })

  test('a held edit that lands after a decision read the item, before the decision runs in the room\'s order, is decided with it', async () => {
    const room = 'proposal/session-race'
    const editor = await open(room)
    await sendAll(editor, 1, () => editor.map('financial').set('value', 12_000))
    const [item] = await pendingOf(room)
    assert.ok(item, 'item')
    // The decision's own way to the document, with the proposer's next held edit let in first.
    const live = liveDocuments(server.server.store, server.server.rooms)
    const decisions = new ReviewDecisions({
      ...live,
      change: async (tenant, document, edit, describe) => {
        await sendAll(editor, 1, () => editor.map('financial').set('value', 13_000))
        return live.change(tenant, document, edit, describe)
      },
    })
    const decided = await decisions.decide({ tenant: server.tenant, userId: 'ada', device: null }, item.id, { kind: 'approve' })
    assert.deepEqual([decided.status, decided.changes[0]!.proposedValue], ['approved', 13_000])
    await eventually(() => assert.equal(editor.map('financial').get('value'), 13_000))
    assert.deepEqual(await pendingOf(room), [])
    const stored = (await api<ReviewItem>('GET', `/reviews/${item.id}`)).body
    assert.deepEqual([stored.status, stored.changes[0]!.proposedValue], ['approved', 13_000])
  })

  test('pending items stored before the per-document index are indexed once at startup, and held edits merge into them', async () => {
    const room = 'proposal/session-legacy'
    const legacy: ReviewItem = {
      id: 'r-00000000-0000-4000-8000-000000000001',
      tenant: server.tenant,
      document: room,
      ruleId: 'financial-review',
      proposer: { userId: 'alice', role: 'editor', device: null },
      proposedAt: Date.now() - 60_000,
      changes: [{ path: 'financial.value', root: 'financial', key: 'value', baseValue: undefined, proposedValue: 11_000 }],
      status: 'pending',
      eventSeq: 1,
    }
    // As an older server stored it: the item alone, and no marker that the index was built.
    // LevelDB's own keys: the index is a LevelDB store's migration.
    await (server.server.store as DocumentStore).writeDirect('seed', [
      { type: 'put', key: reviewKey(legacy.tenant, legacy.id), value: Buffer.from(JSON.stringify(legacy)) },
      { type: 'del', key: PENDING_INDEX_MARKER },
    ])
    clients.destroyAll()
    server = await server.restart()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
    const editor = await open(room)
    await eventually(() => assert.deepEqual(editor.pendingReviews.at(-1)?.map((review) => review.id), [legacy.id]))
    await sendAll(editor, 1, () => editor.map('financial').set('value', 14_000))
    const pending = await pendingOf(room)
    assert.deepEqual(pending.map((item) => [item.id, item.changes[0]!.proposedValue]), [[legacy.id, 14_000]])
  })
})
