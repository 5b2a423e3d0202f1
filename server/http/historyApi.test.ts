import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { TestUser } from '../../shared/testing/devTokens.ts'
import type { VersionDifference, VersionField } from '../history/documentVersion.ts'
import type { RestoreResult } from '../history/restoreThroughGate.ts'
import type { TimelinePage } from '../history/timelinePage.ts'
import { apiRequest } from '../testing/apiRequests.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

const ALICE: TestUser = { user: 'alice', name: 'Alice Editor' }
const BOB: TestUser = { user: 'bob', name: 'Bob Editor' }
const MAX: TestUser = { user: 'max', role: 'manager', name: 'Max Manager' }

type Error = { error: { code: string } }

describe('version history API (/api/documents/:type/:id/history): timeline pages, versions, diff, restore through the gate', () => {
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

  const field = (fields: readonly VersionField[], path: string) => fields.find((entry) => entry.path === path)?.value

  test('three users edit: the timeline names them; an earlier version shows the old values; a manager restores it everywhere as a new event', async () => {
    const room = 'proposal/h-1'
    const alice = await open(room, ALICE)
    const bob = await open(room, BOB)
    const max = await open(room, MAX)
    alice.doc.getText('title').insert(0, 'Harbour bid')
    await eventually(() => assert.equal(max.doc.getText('title').toString(), 'Harbour bid'))
    bob.map('meta').set('dueDate', '2027-01-31')
    await eventually(() => assert.equal(max.map('meta').get('dueDate'), '2027-01-31'))
    max.map('financial').set('value', 40_000)
    await eventually(() => assert.equal(alice.map('financial').get('value'), 40_000))
    const version = await eventually(async () => {
      const page = (await api<TimelinePage>(ALICE, 'GET', `/documents/${room}/history`)).body
      assert.deepEqual(page.events.map((event) => [event.userName, event.outcome, event.paths]), [
        ['Max Manager', 'accepted', ['financial.value']],
        ['Bob Editor', 'accepted', ['meta.dueDate']],
        ['Alice Editor', 'accepted', ['title']],
      ])
      return page.events[1]!.seq
    })
    // Later changes; then the version as of Bob's edit.
    alice.doc.getText('title').insert(0, 'New ')
    max.map('financial').set('value', 55_000)
    bob.map('meta').set('dueDate', '2027-03-01')
    await eventually(() => assert.equal(max.map('meta').get('dueDate'), '2027-03-01'))
    await eventually(() => assert.equal(alice.map('financial').get('value'), 55_000))
    const then = await api<{ fields: VersionField[] }>(BOB, 'GET', `/documents/${room}/history/${version}`)
    assert.equal(then.status, 200)
    assert.equal(field(then.body.fields, 'title'), 'Harbour bid')
    assert.equal(field(then.body.fields, 'meta.dueDate'), '2027-01-31')
    assert.equal(field(then.body.fields, 'financial.value'), undefined)
    const diff = await api<{ differences: VersionDifference[] }>(BOB, 'GET', `/documents/${room}/history/${version}/diff`)
    assert.deepEqual(
      diff.body.differences.map(({ path, then, now }) => [path, then, now]).sort(),
      [['financial.value', undefined, 55_000], ['meta.dueDate', '2027-01-31', '2027-03-01'], ['title', 'Harbour bid', 'New Harbour bid']].sort(),
    )

    // An editor may not restore (nor may a viewer); the document does not change.
    for (const user of [ALICE, { user: 'vic', role: 'viewer' } as const]) {
      const refused = await api<Error>(user, 'POST', `/documents/${room}/history/${version}/restore`)
      assert.equal(refused.status, 403)
      assert.equal(refused.body.error.code, ErrorCode.RestoreNotAllowed)
    }
    const restored = await api<RestoreResult>(MAX, 'POST', `/documents/${room}/history/${version}/restore`)
    assert.equal(restored.status, 200, JSON.stringify(restored.body))
    assert.equal(restored.body.outcome, 'accepted')
    assert.deepEqual([...restored.body.paths].sort(), ['financial.value', 'meta.dueDate', 'title'])
    for (const client of [alice, bob, max]) {
      await eventually(() => {
        assert.equal(client.doc.getText('title').toString(), 'Harbour bid')
        assert.equal(client.map('meta').get('dueDate'), '2027-01-31')
        assert.equal(client.map('financial').get('value'), undefined)
      })
    }
    const latest = (await api<TimelinePage>(ALICE, 'GET', `/documents/${room}/history?limit=1`)).body.events[0]
    assert.equal(latest?.userName, 'Max Manager')
    assert.equal(latest?.outcome, 'accepted')
    assert.deepEqual([...(latest?.paths ?? [])].sort(), ['financial.value', 'meta.dueDate', 'title'])

    // After a restart the restored version is what is stored.
    server = await server.restart()
    const reopened = await open(room, ALICE)
    assert.equal(reopened.doc.getText('title').toString(), 'Harbour bid')
    assert.equal(reopened.map('meta').get('dueDate'), '2027-01-31')
  })

  test('a restore the gate refuses: an approved proposal cannot go back to draft, even when a manager restores it', async () => {
    const room = 'proposal/h-2'
    const max = await open(room, MAX)
    const customer = await open('customer/h-cust', MAX)
    customer.doc.getText('name').insert(0, 'Harbour Ltd')
    await eventually(() => assert.ok(server.server.rooms.find(server.tenant, room)?.documentExists('customer/h-cust'), 'customer exists'))
    max.map('meta').set('status', 'draft')
    await eventually(async () => assert.equal((await api<TimelinePage>(MAX, 'GET', `/documents/${room}/history`)).body.events.length, 1))
    const draft = (await api<TimelinePage>(MAX, 'GET', `/documents/${room}/history`)).body.events[0]!.seq
    max.map('meta').set('status', 'in_review')
    max.map('financial').set('value', 80_000)
    max.map('meta').set('customerId', 'h-cust')
    max.map('meta').set('status', 'approved')
    await eventually(() => assert.equal(server.server.rooms.find(server.tenant, room)?.doc.getMap('meta').get('status'), 'approved'))
    await eventually(() => assert.equal(max.durableMessages() >= 4, true))

    const restored = await api<RestoreResult>(MAX, 'POST', `/documents/${room}/history/${draft}/restore`)
    assert.equal(restored.status, 200, JSON.stringify(restored.body))
    assert.notEqual(restored.body.outcome, 'accepted')
    const statusNotice = restored.body.refused.find((notice) => notice.path === 'meta.status')
    assert.equal(statusNotice?.outcome, 'rejected')
    assert.equal(statusNotice?.ruleId, 'approved-is-final')
    // The live document and every replica keep the approval; the refusal is in the log.
    assert.equal(server.server.rooms.find(server.tenant, room)?.doc.getMap('meta').get('status'), 'approved')
    assert.equal(max.map('meta').get('status'), 'approved')
    const page = (await api<TimelinePage>(MAX, 'GET', `/documents/${room}/history?limit=1`)).body
    assert.deepEqual(page.events.map((event) => [event.outcome, event.userId, event.serverChanges.map((change) => change.outcome)]), [['rejected', 'max', ['compensation']]])
  })

  test('paging: pages of `limit` events, newest first, that together hold every event once; bounds are checked', async () => {
    const room = 'proposal/h-3'
    const alice = await open(room, ALICE)
    for (let index = 1; index <= 7; index++) alice.map('meta').set('dueDate', `2027-01-0${index}`)
    await eventually(() => assert.equal(alice.durableMessages() >= 7, true))
    const seen: number[] = []
    let before: number | null = null
    for (let pages = 0; pages < 10; pages++) {
      const query: string = before === null ? '?limit=3' : `?limit=3&before=${before}`
      const page: TimelinePage = (await api<TimelinePage>(ALICE, 'GET', `/documents/${room}/history${query}`)).body
      assert.ok(page.events.length <= 3, `${page.events.length}`)
      seen.push(...page.events.map((event) => event.seq))
      before = page.next
      if (before === null) break
    }
    // Seven edits, each an entry (the server's edit-time writes of each step are part of its entry).
    assert.equal(seen.length, 7)
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a))
    for (const query of ['limit=0', 'limit=501', 'before=0', 'before=x', 'limit=-1']) {
      const refused = await api<Error>(ALICE, 'GET', `/documents/${room}/history?${query}`)
      assert.equal(refused.status, 400, query)
      assert.equal(refused.body.error.code, ErrorCode.BadRequest, query)
    }
    const missing = await api<Error>(ALICE, 'GET', `/documents/${room}/history/99`)
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error.code, ErrorCode.EventNotFound)
  })

  test('tenant scoping: another tenant reads no event of the document and cannot restore it', async () => {
    const room = 'proposal/h-4'
    const alice = await open(room, ALICE)
    alice.map('meta').set('dueDate', '2027-02-02')
    await eventually(() => assert.equal(alice.durableMessages() >= 1, true))
    const globex: TestUser = { user: 'max', role: 'manager', tenant: 'globex' }
    const page = await api<TimelinePage>(globex, 'GET', `/documents/${room}/history`)
    assert.deepEqual(page.body.events, [])
    assert.equal((await api<Error>(globex, 'GET', `/documents/${room}/history/1`)).body.error.code, ErrorCode.EventNotFound)
    assert.equal((await api<Error>(globex, 'POST', `/documents/${room}/history/1/restore`)).status, 404)
    assert.equal(alice.map('meta').get('dueDate'), '2027-02-02')
  })
})
