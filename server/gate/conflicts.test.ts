import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { ConflictRecord as Conflict } from '../../shared/conflictRecord.ts'
import { adminRequest } from '../testing/adminRequests.ts'

describe('conflicts: concurrent overwrites of a field', () => {
  let server: TestServer
  let adminToken: string
  const clients = gateClientPool()
  const open = (room: string, user: Parameters<typeof clients.open>[2] = {}) => clients.open(server, room, user)
  const conflictsOf = async (room: string) => {
    return (await adminRequest<{ conflicts: Conflict[] }>(server, adminToken, 'GET', `/docs/${room}/conflicts`)).body.conflicts
  }
  before(async () => {
    server = await startServer()
    adminToken = await server.token({ user: 'ada', role: 'admin' })
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  test('two stock clients set the same field offline: exactly one conflict, the later arrival wins, both are told', async () => {
    // Without edit times (stock clients) each write gets its arrival time: the later arrival wins.
    const room = 'proposal/c-1'
    const alice = await open(room, { user: 'alice' })
    const bob = await open(room, { user: 'bob' })
    alice.map('meta').set('dueDate', '2026-01-01')
    await eventually(() => assert.equal(bob.map('meta').get('dueDate'), '2026-01-01'))
    alice.provider.disconnect()
    bob.provider.disconnect()
    alice.map('meta').set('dueDate', '2026-02-02')
    bob.map('meta').set('dueDate', '2026-03-03')
    alice.provider.connect()
    await eventually(() => assert.equal(server.server.rooms.find(server.tenant, room)?.doc.getMap('meta').get('dueDate'), '2026-02-02'))
    bob.provider.connect()
    const final = await eventually(() => {
      const dueDate = alice.map('meta').get('dueDate')
      assert.equal(bob.map('meta').get('dueDate'), dueDate)
      assert.equal(dueDate, '2026-03-03')
      return dueDate
    })
    const conflicts = await eventually(async () => {
      const recorded = await conflictsOf(room)
      assert.equal(recorded.length, 1)
      return recorded
    })
    const [conflict] = conflicts
    assert.equal(conflict!.path, 'meta.dueDate')
    assert.deepEqual([conflict!.winner.userId, conflict!.loser.userId], ['bob', 'alice'])
    assert.equal(conflict!.winner.value, final)
    assert.equal(conflict!.loser.value, '2026-02-02')
    // The winner is told once; the loser is shown it (the document's open conflicts for them).
    await eventually(() => assert.deepEqual(bob.notices.map((n) => `${n.outcome}:${n.ruleId}:${n.path}`), ['conflict:timestamp-wins:meta.dueDate']))
    await eventually(() => assert.deepEqual(alice.openConflicts()?.map((open) => open.id), [conflict!.id]))
    assert.deepEqual(alice.notices.filter((n) => n.outcome === 'conflict'), [])
  })

  test('edits one after another (each saw the other) are not conflicts', async () => {
    const room = 'proposal/c-2'
    const alice = await open(room, { user: 'alice' })
    const bob = await open(room, { user: 'bob' })
    alice.map('meta').set('title', 'One')
    await eventually(() => assert.equal(bob.map('meta').get('title'), 'One'))
    bob.map('meta').set('title', 'Two')
    await eventually(() => assert.equal(alice.map('meta').get('title'), 'Two'))
    alice.map('meta').set('title', 'Three')
    await eventually(() => assert.equal(bob.map('meta').get('title'), 'Three'))
    assert.deepEqual(await conflictsOf(room), [])
  })
})
