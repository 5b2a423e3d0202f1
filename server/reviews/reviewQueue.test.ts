import { writeField } from '../../shared/editTimes.ts'
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { documentAsOf, type EventRecord } from '../persistence/eventLog.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { ReviewItem } from './reviewItem.ts'
import { adminRequest } from '../testing/adminRequests.ts'

describe('review queue, admin API and event log', () => {
  let server: TestServer
  let adminToken: string
  const clients = gateClientPool()
  const open = (room: string, user: Parameters<typeof clients.open>[2] = {}) => clients.open(server, room, user)
  const api = <T>(method: 'GET' | 'POST', path: string, { token = adminToken, body }: { token?: string; body?: unknown } = {}) =>
    adminRequest<T>(server, token, method, path, body)
  before(async () => {
    server = await startServer()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  test('an editor\'s financial change is held; the admin approves it and it reaches everyone', async () => {
    const room = 'proposal/r-1'
    const manager = await open(room, { user: 'max', role: 'manager' })
    const editor = await open(room)
    manager.map('financial').set('value', 1000)
    await eventually(() => assert.equal(editor.map('financial').get('value'), 1000))

    editor.map('financial').set('value', 2500)
    const notice = await eventually(() => {
      const held = editor.notices.find((n) => n.outcome === 'review')
      assert.ok(held?.reviewId, JSON.stringify(editor.notices))
      assert.equal(editor.map('financial').get('value'), 1000)
      return held
    })
    assert.equal(manager.map('financial').get('value'), 1000)

    const { body: list } = await api<{ reviews: ReviewItem[] }>('GET', '/reviews?status=pending')
    const item = list.reviews.find((review) => review.id === notice.reviewId)
    assert.ok(item, 'item')
    assert.equal(item.document, room)
    assert.equal(item.proposer.userId, 'alice')
    assert.deepEqual(item.changes, [{ path: 'financial.value', root: 'financial', key: 'value', baseValue: 1000, proposedValue: 2500 }])

    const approved = await api<ReviewItem>('POST', `/reviews/${item.id}/approve`)
    assert.equal(approved.status, 200)
    assert.equal(approved.body.status, 'approved')
    assert.equal(approved.body.decidedBy, 'ada')
    await eventually(() => {
      assert.equal(editor.map('financial').get('value'), 2500)
      assert.equal(manager.map('financial').get('value'), 2500)
      assert.ok(editor.notices.some((n) => n.outcome === 'review-decided' && n.reviewId === item.id && n.message === 'approved'), 'editor.notices.some((n) => n.outcome === \'review-decided\' && n.reviewId === i...')
    })
    // Deciding twice is a conflict.
    assert.equal((await api('POST', `/reviews/${item.id}/approve`)).status, 409)
  })

  test('an item made stale by a later change is answered `stale` and changes nothing', async () => {
    const room = 'proposal/r-2'
    const manager = await open(room, { user: 'max', role: 'manager' })
    const editor = await open(room)
    manager.map('financial').set('discountPct', 5)
    await eventually(() => assert.equal(editor.map('financial').get('discountPct'), 5))
    editor.map('financial').set('discountPct', 20)
    const reviewId = await eventually(() => {
      const held = editor.notices.find((n) => n.outcome === 'review')
      assert.ok(held?.reviewId, `notices: ${JSON.stringify(editor.notices)}; editor sees ${editor.map('financial').get('discountPct')}; server ${server.server.rooms.find(server.tenant, room)?.doc.getMap('financial').get('discountPct')}`)
      return held.reviewId
    })
    manager.map('financial').set('discountPct', 7) // the field moves after the proposal
    await eventually(() => assert.equal(editor.map('financial').get('discountPct'), 7))
    const decided = await api<ReviewItem>('POST', `/reviews/${reviewId}/approve`)
    assert.equal(decided.body.status, 'stale')
    await eventually(() => assert.ok(editor.notices.some((n) => n.reviewId === reviewId && n.message === 'stale'), 'editor.notices.some((n) => n.reviewId === reviewId && n.message === \'stale\')'))
    assert.equal(manager.map('financial').get('discountPct'), 7)
  })

  test('a held rich-text edit of legal content is approved as proposed (formats too), or answered `stale` once the text moved', async () => {
    const room = 'content/r-legal'
    const lawyer = await open(room, { user: 'lea', legal: true })
    const editor = await open(room)
    const body = (client: { doc: Y.Doc }) => client.doc.getXmlFragment('body').toString()
    lawyer.doc.transact(() => {
      lawyer.map('meta').set('legal', true)
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText('Liability is limited.')])
      lawyer.doc.getXmlFragment('body').insert(0, [paragraph])
    })
    const original = '<paragraph>Liability is limited.</paragraph>'
    await eventually(() => assert.equal(body(editor), original))

    const held = async (edit: () => void): Promise<string> => {
      const before = editor.notices.length
      edit()
      return eventually(() => {
        const notice = editor.notices.slice(before).find((n) => n.outcome === 'review' && n.ruleId === 'legal-review')
        assert.ok(notice?.reviewId, JSON.stringify(editor.notices))
        return notice.reviewId
      })
    }
    const text = () => (editor.doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText
    const first = await held(() =>
      editor.doc.transact(() => {
        text().delete(13, 8)
        text().insert(13, 'capped at 1M.')
        text().format(0, 9, { bold: true })
      }),
    )
    await eventually(() => assert.equal(body(editor), original))
    const approved = await api<ReviewItem>('POST', `/reviews/${first}/approve`)
    assert.equal(approved.body.status, 'approved')
    const proposed = '<paragraph><bold>Liability</bold> is capped at 1M.</paragraph>'
    await eventually(() => {
      assert.equal(body(editor), proposed)
      assert.equal(body(lawyer), proposed)
    })

    // Held again; the lawyer edits the text before the decision: the proposal is stale.
    const second = await held(() => text().insert(0, 'Editor: '))
    lawyer.doc.getXmlFragment('body').insert(1, [new Y.XmlElement('paragraph')])
    await eventually(() => assert.equal(body(editor), `${proposed}<paragraph></paragraph>`))
    const stale = await api<ReviewItem>('POST', `/reviews/${second}/approve`)
    assert.equal(stale.body.status, 'stale')
    assert.equal(body(lawyer), `${proposed}<paragraph></paragraph>`)
  })

  test('reject stores the reason and tells the proposer', async () => {
    const room = 'proposal/r-3'
    const editor = await open(room)
    editor.map('financial').set('value', 10)
    const reviewId = await eventually(() => {
      const held = editor.notices.find((n) => n.outcome === 'review')
      assert.ok(held?.reviewId, 'held?.reviewId')
      return held.reviewId
    })
    const rejected = await api<ReviewItem>('POST', `/reviews/${reviewId}/reject`, { body: { reason: 'not agreed with finance' } })
    assert.equal(rejected.body.status, 'rejected')
    assert.equal(rejected.body.reason, 'not agreed with finance')
    await eventually(() => assert.ok(editor.notices.some((n) => n.reviewId === reviewId && n.message === 'rejected: not agreed with finance'), 'editor.notices.some((n) => n.reviewId === reviewId && n.message === \'rejected...'))
    assert.equal((await api<ReviewItem>('GET', `/reviews/${reviewId}`)).body.status, 'rejected')
  })

  test('the admin API refuses non-admins (403), missing tokens (401), unknown items (404), bad bodies (400)', async () => {
    const editorToken = await server.token({ role: 'editor' })
    assert.deepEqual(await api('GET', '/reviews', { token: editorToken }).then((r) => [r.status, (r.body as { error: { code: string } }).error.code]), [403, ErrorCode.AdminOnly])
    assert.equal((await api('GET', '/reviews', { token: '' })).status, 401)
    assert.equal((await api('GET', '/reviews/r-nope')).status, 404)
    const response = await fetch(`${server.httpUrl}/admin/reviews/r-nope/reject`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` }, body: '[oops' })
    assert.equal(response.status, 400)
    // Tenants: another tenant's admin sees none of acme's items.
    const globexAdmin = await server.token({ user: 'gus', role: 'admin', tenant: 'globex' })
    assert.deepEqual((await api<{ reviews: unknown[] }>('GET', '/reviews', { token: globexAdmin })).body.reviews, [])
  })

  test('the event log records every update, gap-free, and rebuilds the document as of any event', async () => {
    const room = 'proposal/r-1'
    const { body } = await api<{ events: Array<Omit<EventRecord, 'update'> & { update: string }> }>('GET', `/docs/${room}/events`)
    const events: EventRecord[] = body.events.map((event) => ({ ...event, update: new Uint8Array(Buffer.from(event.update, 'base64')) }))
    assert.deepEqual(events.map((event) => event.seq), events.map((_, index) => index + 1))
    const summary = events.map((event) => `${event.userId}:${event.outcome}:${event.ruleIds.join('+')}:${event.paths.join('+')}`)
    assert.ok(summary.includes('max:accepted::financial.value'), 'summary.includes(\'max:accepted::financial.value\')')
    assert.ok(summary.includes('alice:review:financial-review:financial.value'), 'summary.includes(\'alice:review:financial-review:financial.value\')')
    assert.ok(summary.includes('server:compensation:financial-review:financial.value'), 'summary.includes(\'server:compensation:financial-review:financial.value\')')
    assert.ok(summary.includes('ada:admin:financial-review:financial.value'), 'summary.includes(\'ada:admin:financial-review:financial.value\')')
    // As of the held proposal the editor's value shows; as of its compensation it is gone again.
    const proposal = events.find((event) => event.outcome === 'review')!
    assert.equal(documentAsOf(null, events, proposal.seq).getMap('financial').get('value'), 2500)
    assert.equal(documentAsOf(null, events, proposal.seq + 1).getMap('financial').get('value'), 1000)
    // The whole log rebuilds exactly the stored document.
    const stored = await server.server.store.loadDoc(`${server.tenant}/${room}`)
    const rebuilt = documentAsOf(null, events, events.at(-1)!.seq)
    assert.deepEqual(rebuilt.getMap('financial').toJSON(), stored.doc.getMap('financial').toJSON())
    assert.deepEqual(Y.encodeStateVector(rebuilt), Y.encodeStateVector(stored.doc))
  })

  test('after a restart the log continues where it stopped and approved values persist', async () => {
    clients.destroyAll()
    const before = (await api<{ events: EventRecord[] }>('GET', '/docs/proposal/r-1/events')).body.events.length
    server = await server.restart()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
    const manager = await open('proposal/r-1', { user: 'max', role: 'manager' })
    assert.equal(manager.map('financial').get('value'), 2500)
    writeField(manager.map('meta'), 'title', 'After restart') // with its time: one event
    await eventually(async () => {
      const { body } = await api<{ events: EventRecord[] }>('GET', '/docs/proposal/r-1/events')
      assert.equal(body.events.length, before + 1)
      assert.equal(body.events.at(-1)!.seq, before + 1)
    })
  })
})
