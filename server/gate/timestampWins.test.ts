import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import { gateClientPool, type GateClient } from '../testing/gateClients.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { EventRecord } from '../persistence/eventLog.ts'

/**
 * Timestamp-wins: of two concurrent writes to one field, the one made later wins, whatever order
 * they reach the server in and whatever Yjs's own order (by client id) would pick. Each client here
 * has a fixed client id, the older writer the higher one, so Yjs alone would keep the older value.
 */
describe('timestamp-wins on concurrent field writes', () => {
  let server: TestServer
  let adminToken: string
  const clients = gateClientPool()
  const docWithId = (clientID: number) => {
    const doc = new Y.Doc()
    doc.clientID = clientID
    return doc
  }
  const open = (room: string, user: string, clientID: number) => clients.open(server, room, { user, name: user.toUpperCase(), doc: docWithId(clientID) })
  /** A field write as the app makes it: the value and its time, in one transaction. */
  const write = (client: GateClient, root: string, key: string, value: unknown, editedAt?: number) =>
    client.doc.transact(() => {
      client.map(root).set(key, value)
      if (editedAt !== undefined) client.map('editedAt').set(`${root}.${key}`, editedAt)
    })
  const serverDoc = (room: string) => server.server.rooms.find(server.tenant, room)!.doc
  const conflictsOf = async (room: string) =>
    (await adminRequest<{ conflicts: ConflictRecord[] }>(server, adminToken, 'GET', `/docs/${room}/conflicts`)).body.conflicts
  const eventsOf = async (room: string) =>
    (await adminRequest<{ events: EventRecord[] }>(server, adminToken, 'GET', `/docs/${room}/events`)).body.events
  const dismiss = async (room: string, id: string, user: string) => {
    const token = await server.token({ user })
    const response = await fetch(`${server.httpUrl}/api/documents/${room}/conflicts/${encodeURIComponent(id)}/dismiss`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    return { status: response.status, body: (await response.json()) as { error?: { code: string } } }
  }

  before(async () => {
    server = await startServer()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  /** Alice (client 1000) and Bob (client 2000) on `room`, both having seen a base due date. */
  const twoEditors = async (room: string) => {
    const alice = await open(room, 'alice', 1000)
    const bob = await open(room, 'bob', 2000)
    write(alice, 'meta', 'dueDate', '2026-12-01', Date.now())
    await eventually(() => assert.equal(bob.map('meta').get('dueDate'), '2026-12-01'))
    return { alice, bob }
  }

  const expectEverywhere = async (room: string, replicas: GateClient[], dueDate: string, editedAt: number) => {
    await eventually(() => {
      for (const doc of [serverDoc(room), ...replicas.map((replica) => replica.doc)]) {
        assert.equal(doc.getMap('meta').get('dueDate'), dueDate)
        assert.equal(doc.getMap('editedAt').get('meta.dueDate'), editedAt)
      }
    })
  }

  test('an older offline edit arriving after a newer online one loses; both sides are told', async () => {
    const room = 'proposal/tw-1'
    const { alice, bob } = await twoEditors(room)
    bob.provider.disconnect()
    const bobTime = Date.now() - 60_000
    write(bob, 'meta', 'dueDate', '2026-12-10', bobTime) // offline, a minute ago
    const aliceTime = Date.now()
    write(alice, 'meta', 'dueDate', '2026-12-12', aliceTime) // online, now
    await eventually(() => assert.equal(serverDoc(room).getMap('meta').get('dueDate'), '2026-12-12'))
    bob.provider.connect()
    await expectEverywhere(room, [alice, bob], '2026-12-12', aliceTime)

    const [conflict, ...others] = await eventually(async () => {
      const recorded = await conflictsOf(room)
      assert.equal(recorded.length, 1)
      return recorded
    })
    assert.deepEqual(others, [])
    assert.equal(conflict!.path, 'meta.dueDate')
    assert.equal(conflict!.rule, 'timestamp-wins')
    assert.deepEqual(conflict!.winner, { userId: 'alice', name: 'ALICE', value: '2026-12-12', editedAt: aliceTime })
    assert.deepEqual(conflict!.loser, { userId: 'bob', name: 'BOB', value: '2026-12-10', editedAt: bobTime })
    assert.equal(conflict!.dismissed, null)

    // The server overrode Yjs's choice (Bob's higher client id) as its own change, on record.
    const events = await eventsOf(room)
    const resolution = events.find((event) => event.outcome === 'compensation' && event.ruleIds.includes('timestamp-wins'))
    assert.ok(resolution, 'a compensation event by timestamp-wins')
    assert.deepEqual(resolution.paths, ['meta.dueDate'])

    // The loser sees the conflict (the open conflicts of the document for them); the winner is told.
    await eventually(() => assert.deepEqual(bob.openConflicts()?.map((open) => open.id), [conflict!.id]))
    await eventually(() => {
      const told = alice.notices.filter((notice) => notice.outcome === 'conflict')
      assert.deepEqual(told.map((notice) => `${notice.ruleId}:${notice.path}`), ['timestamp-wins:meta.dueDate'])
    })
    await eventually(() => assert.deepEqual(alice.openConflicts(), []))
    assert.deepEqual(bob.notices.filter((notice) => notice.outcome === 'conflict'), [], 'the loser is shown the conflict on the field, not told in a toast')

    // After a restart the stored document holds the later value and its time.
    server = await server.restart()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
    const fresh = await open(room, 'carol', 3000)
    assert.equal(fresh.map('meta').get('dueDate'), '2026-12-12')
    assert.equal(fresh.map('editedAt').get('meta.dueDate'), aliceTime)
    // Bob, on a new connection to the new server, is shown the conflict again.
    const bobAgain = await open(room, 'bob', 2002)
    await eventually(() => assert.deepEqual(bobAgain.openConflicts()?.map((open) => open.id), [conflict!.id]))
  })

  test('the same outcome when the older edit reaches the server first', async () => {
    const room = 'proposal/tw-2'
    const { alice, bob } = await twoEditors(room)
    bob.provider.disconnect()
    alice.provider.disconnect()
    const bobTime = Date.now() - 60_000
    const aliceTime = Date.now() - 1_000
    write(bob, 'meta', 'dueDate', '2026-12-10', bobTime)
    write(alice, 'meta', 'dueDate', '2026-12-12', aliceTime)
    bob.provider.connect()
    await eventually(() => assert.equal(serverDoc(room).getMap('meta').get('dueDate'), '2026-12-10'))
    alice.provider.connect()
    await expectEverywhere(room, [alice, bob], '2026-12-12', aliceTime)
    const [conflict] = await eventually(async () => {
      const recorded = await conflictsOf(room)
      assert.equal(recorded.length, 1)
      return recorded
    })
    assert.equal(conflict!.winner.userId, 'alice')
    assert.equal(conflict!.loser.userId, 'bob')
    await eventually(() => assert.deepEqual(bob.openConflicts()?.map((open) => open.id), [conflict!.id]))
  })

  test('a device clock a year ahead is clamped to the arrival time: a write made after it arrived wins', async () => {
    const room = 'proposal/tw-3'
    const { alice, bob } = await twoEditors(room)
    alice.provider.disconnect()
    const sent = Date.now()
    write(bob, 'meta', 'dueDate', '2027-01-01', sent + 365 * 24 * 3600_000)
    const clamped = await eventually(() => {
      const time = serverDoc(room).getMap('editedAt').get('meta.dueDate') as number
      assert.equal(serverDoc(room).getMap('meta').get('dueDate'), '2027-01-01')
      assert.ok(time >= sent && time <= Date.now(), `stored time ${time} is the arrival time`)
      return time
    })
    await eventually(() => assert.equal(bob.map('editedAt').get('meta.dueDate'), clamped))
    // Alice, offline, did not see it; she writes after it arrived (her clock is right).
    while (Date.now() <= clamped) await new Promise((resolve) => setImmediate(resolve))
    const aliceTime = Date.now()
    write(alice, 'meta', 'dueDate', '2026-12-24', aliceTime)
    alice.provider.connect()
    await expectEverywhere(room, [alice, bob], '2026-12-24', aliceTime)
    const [conflict] = await eventually(async () => {
      const recorded = await conflictsOf(room)
      assert.equal(recorded.length, 1)
      return recorded
    })
    assert.equal(conflict!.winner.userId, 'alice')
    assert.deepEqual(conflict!.loser, { userId: 'bob', name: 'BOB', value: '2027-01-01', editedAt: clamped })
  })

  test('a write without a time (a stock client) gets its arrival time', async () => {
    const room = 'proposal/tw-4'
    const manager = await clients.open(server, room, { user: 'maria', role: 'manager' })
    const sent = Date.now()
    manager.map('financial').set('value', 1200)
    manager.map('meta').set('currency', 'EUR')
    await eventually(() => {
      for (const doc of [serverDoc(room), manager.doc]) {
        const times = doc.getMap('editedAt')
        for (const path of ['financial.value', 'meta.currency']) {
          const time = times.get(path) as number
          assert.ok(typeof time === 'number' && time >= sent && time <= Date.now(), `${path} got its arrival time`)
        }
      }
    })
  })

  test('editedAt: only field paths, finite times ≥ 0; the time of a refused write is undone with it', async () => {
    const room = 'proposal/tw-5'
    const editor = await clients.open(server, room, { user: 'erin' })
    const times = () => serverDoc(room).getMap('editedAt')
    editor.map('editedAt').set('meta.nonsense', 5)
    editor.map('editedAt').set('team.erin', 5)
    editor.map('editedAt').set('meta.currency', -1)
    await eventually(() => {
      const refused = editor.notices.filter((notice) => notice.ruleId === 'schema').map((notice) => notice.path).sort()
      assert.deepEqual(refused, ['editedAt.meta.currency', 'editedAt.meta.nonsense', 'editedAt.team.erin'])
    })
    assert.deepEqual(times().toJSON(), {})
    // A refused currency: its time is compensated with it, and not told twice.
    write(editor, 'meta', 'currency', 'euro', Date.now())
    await eventually(() => assert.ok(editor.notices.some((notice) => notice.path === 'meta.currency'), 'the currency was refused'))
    await eventually(() => assert.equal(editor.map('editedAt').get('meta.currency'), undefined))
    assert.equal(times().get('meta.currency'), undefined)
    assert.equal(editor.notices.filter((notice) => notice.path === 'editedAt.meta.currency').length, 1)
  })

  test('dismissal: only the loser dismisses their conflict; it stays dismissed', async () => {
    const room = 'proposal/tw-6'
    const { alice, bob } = await twoEditors(room)
    bob.provider.disconnect()
    write(bob, 'meta', 'dueDate', '2026-12-10', Date.now() - 60_000)
    write(alice, 'meta', 'dueDate', '2026-12-12', Date.now())
    await eventually(() => assert.equal(serverDoc(room).getMap('meta').get('dueDate'), '2026-12-12'))
    bob.provider.connect()
    const [conflict] = await eventually(async () => {
      const recorded = await conflictsOf(room)
      assert.equal(recorded.length, 1)
      return recorded
    })
    await eventually(() => assert.equal(bob.openConflicts()?.length, 1))

    assert.equal((await dismiss(room, conflict!.id, 'alice')).status, 403, 'the winner cannot dismiss the loser’s conflict')
    assert.equal((await dismiss(room, conflict!.id, 'mallory')).status, 403)
    const unknown = await dismiss(room, '999-0', 'bob')
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.error?.code, 'ERR_CONFLICT_NOT_FOUND')
    assert.equal((await dismiss('proposal/tw-4', conflict!.id, 'bob')).status, 404, 'the id in a document without it')
    assert.equal((await dismiss(room, conflict!.id, 'bob')).status, 200)
    await eventually(() => assert.deepEqual(bob.openConflicts(), []))
    const [stored] = await conflictsOf(room)
    assert.ok(stored!.dismissed && stored!.dismissed.at > 0, 'stored as dismissed')
    assert.equal((await dismiss(room, conflict!.id, 'bob')).status, 200, 'dismissing twice is no error')

    // A new connection of Bob's is not shown it again.
    const again = await open(room, 'bob', 2001)
    await eventually(() => assert.deepEqual(again.openConflicts(), []))
  })
})
