import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { conflictId, type ConflictRecord } from '../../shared/conflictRecord.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { MAX_OPEN_CONFLICTS_SENT } from './openConflicts.ts'

/** A stored timestamp-wins conflict: `loser`'s value replaced by alice's. */
const conflict = (eventSeq: number, loser: string, dismissed = false): ConflictRecord => ({
  id: conflictId(eventSeq, 0),
  path: 'meta.dueDate',
  eventSeq,
  at: 1_000_000 + eventSeq,
  rule: 'timestamp-wins',
  winner: { userId: 'alice', value: `2026-12-${String((eventSeq % 28) + 1).padStart(2, '0')}`, editedAt: 2_000_000 + eventSeq },
  loser: { userId: loser, value: '2026-11-30', editedAt: 1_000_000 + eventSeq },
  dismissed: dismissed ? { at: 3_000_000 } : null,
})

describe('open conflicts sent to a user on connect', () => {
  let server: TestServer
  const clients = gateClientPool()
  let reads = 0

  before(async () => {
    server = await startServer()
    // Counts the store's reads of a document's conflicts (the real store answers them).
    const store = server.server.store
    const listConflicts = store.listConflicts.bind(store)
    store.listConflicts = (storageName: string) => {
      reads++
      return listConflicts(storageName)
    }
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  test('the newest of many are sent (at most the cap, oldest first), read from the store once for every join until one changes', async () => {
    const room = 'proposal/many-conflicts'
    const storage = `${server.tenant}/${room}`
    const stored: ConflictRecord[] = []
    for (let seq = 1; seq <= MAX_OPEN_CONFLICTS_SENT + 30; seq++) stored.push(conflict(seq, 'bob', seq % 10 === 0))
    stored.push(conflict(1000, 'carol'))
    await server.server.store.appendBatch(storage, { update: null, conflicts: stored })
    const bobsOpen = stored.filter((record) => record.loser.userId === 'bob' && record.dismissed === null).map((record) => record.id)

    const readsBefore = reads
    const bobs = await Promise.all([1, 2, 3].map(() => clients.open(server, room, { user: 'bob' })))
    const carol = await clients.open(server, room, { user: 'carol' })
    for (const bob of bobs) {
      await eventually(() => assert.deepEqual(bob.openConflicts()?.map((open) => open.id), bobsOpen.slice(-MAX_OPEN_CONFLICTS_SENT)))
    }
    await eventually(() => assert.deepEqual(carol.openConflicts()?.map((open) => open.id), [conflictId(1000, 0)]))
    assert.equal(reads - readsBefore, 1, 'four joins, one read')

    // Bob dismisses the newest: the list is read again and the next-oldest open one comes in.
    const token = await server.token({ user: 'bob' })
    const response = await fetch(`${server.httpUrl}/api/documents/${room}/conflicts/${encodeURIComponent(bobsOpen.at(-1)!)}/dismiss`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(response.status, 200)
    const expected = bobsOpen.slice(0, -1).slice(-MAX_OPEN_CONFLICTS_SENT)
    for (const bob of bobs) await eventually(() => assert.deepEqual(bob.openConflicts()?.map((open) => open.id), expected))
    const late = await clients.open(server, room, { user: 'bob' })
    await eventually(() => assert.deepEqual(late.openConflicts()?.map((open) => open.id), expected))
    assert.equal(reads - readsBefore, 3, 'the dismissal looks its conflict up, then one read for everyone after it')
  })
})
