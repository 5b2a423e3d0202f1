import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { Conflict } from './conflicts.ts'
import { adminRequest } from '../testing/adminRequests.ts'

describe('conflicts: concurrent last-writer-wins overwrites', () => {
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

  test('two users set the same field offline: exactly one conflict, the loser is told', async () => {
    const room = 'proposal/c-1'
    const alice = await open(room, { user: 'alice' })
    const bob = await open(room, { user: 'bob' })
    alice.map('meta').set('title', 'Base')
    await eventually(() => assert.equal(bob.map('meta').get('title'), 'Base'))
    alice.provider.disconnect()
    bob.provider.disconnect()
    alice.map('meta').set('title', 'Alice title')
    bob.map('meta').set('title', 'Bob title')
    alice.provider.connect()
    await eventually(() => assert.equal(server.server.rooms.find(server.tenant, room)?.doc.getMap('meta').get('title'), 'Alice title'))
    bob.provider.connect()
    const final = await eventually(() => {
      const title = alice.map('meta').get('title')
      assert.equal(bob.map('meta').get('title'), title)
      assert.notEqual(title, 'Base')
      return title
    })
    const conflicts = await eventually(async () => {
      const recorded = await conflictsOf(room)
      assert.equal(recorded.length, 1)
      return recorded
    })
    const [conflict] = conflicts
    assert.equal(conflict!.path, 'meta.title')
    assert.deepEqual([conflict!.winner.userId, conflict!.loser.userId].sort(), ['alice', 'bob'])
    assert.equal(conflict!.winner.value, final)
    assert.equal(conflict!.loser.value, final === 'Alice title' ? 'Bob title' : 'Alice title')
    const loser = conflict!.loser.userId === 'alice' ? alice : bob
    const winner = loser === alice ? bob : alice
    await eventually(() => assert.deepEqual(loser.notices.map((n) => `${n.outcome}:${n.path}`), ['conflict:meta.title']))
    assert.deepEqual(winner.notices.filter((n) => n.outcome === 'conflict'), [])
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
