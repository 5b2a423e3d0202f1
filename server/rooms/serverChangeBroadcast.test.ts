import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { acceptUpdate } from '../gate/writePath.ts'
import { connectGateClient } from '../testing/gateClients.ts'
import { startServer } from '../testing/startServer.ts'

/**
 * A batch that holds a peer's update and a change of the server's own (an approval, a revert, the
 * load-time move of legacy fields) is broadcast to everyone. Sending it to everyone but its one peer
 * source lost the server's change for that peer: every later server change then waited in its doc
 * for the missing one, and the peer stopped showing the server's changes (found by the seeded
 * convergence run, seed 1005540333).
 */
test("the server's own change batched with a peer's update reaches that peer too", async () => {
  const server = await startServer()
  try {
    const room = 'proposal/batched-server-change'
    const alice = await connectGateClient(server, room, { user: 'alice' })
    const live = server.server.rooms.find(server.tenant, room)!
    const peer = [...live.peers][0]!
    const elsewhere = new Y.Doc()
    elsewhere.getMap('meta').set('dueDate', '2027-01-01')
    // Both in one task: the group commit cuts them into one batch.
    assert.equal(acceptUpdate(live, peer, Y.encodeStateAsUpdate(elsewhere)), null, 'the peer update is accepted')
    const approved = live.applyServerChange((doc) => doc.getMap('meta').set('currency', 'EUR'), () => ({ events: [], reviews: [] }))
    await approved
    await eventually(() => assert.equal(alice.map('meta').get('currency'), 'EUR'))
    // And the server's next change applies on top of it (nothing waits for a missing one).
    await live.applyServerChange((doc) => doc.getMap('meta').set('currency', 'USD'), () => ({ events: [], reviews: [] }))
    await eventually(() => assert.equal(alice.map('meta').get('currency'), 'USD'))
    assert.equal(alice.doc.store.pendingStructs, null, 'nothing waits in the peer doc')
    alice.destroy()
  } finally {
    await server.dispose()
  }
})
