import { writeField } from '../../shared/editTimes.ts'
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { proposalModel } from '../../shared/documentModel.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { AWARENESS_TIMEOUT_MS } from './awarenessRelay.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { MESSAGE_EXTENSION } from '../../shared/extensionProtocol.ts'

describe('stock y-websocket clients co-editing', () => {
  let server: TestServer
  const clients: StockClient[] = []
  const connect = async (room: string, role: 'editor' | 'manager' = 'editor') => {
    const client = await server.connect(room, { role })
    clients.push(client)
    return client
  }
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    for (const client of clients) client.destroy()
    await server.dispose()
  })

  test('two clients converge on map fields and rich text; a late third client gets the full state', async () => {
    const alice = await connect('proposal/p-1')
    // A manager: financial changes by editors are held for review (the validation gate's financial-review rule).
    const bob = await connect('proposal/p-1', 'manager')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])

    const a = proposalModel(alice.doc)
    const b = proposalModel(bob.doc)
    a.meta.set('title', 'Fleet renewal')
    b.financial.set('value', 125_000)
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText('Dear customer,')])
    a.body.insert(0, [paragraph])
    await eventually(() => {
      assert.equal(b.meta.get('title'), 'Fleet renewal')
      assert.equal(a.financial.get('value'), 125_000)
      assert.equal(b.body.toString(), '<paragraph>Dear customer,</paragraph>')
    })
    // Concurrent edits of the same text converge.
    ;((a.body.get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(0, "A: ")
    ;((b.body.get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(14, " B")
    await eventually(() => assert.equal(a.body.toString(), b.body.toString()))
    assert.match(a.body.toString(), /A: .*B/)

    const carol = await connect('proposal/p-1')
    await carol.whenSynced()
    const c = proposalModel(carol.doc)
    assert.equal(c.meta.get('title'), 'Fleet renewal')
    assert.equal(c.financial.get('value'), 125_000)
    assert.equal(c.body.toString(), a.body.toString())
    assert.deepEqual(Y.encodeStateVector(carol.doc), Y.encodeStateVector(alice.doc))
  })

  test('a sync step 2 that changes nothing (a reconnecting editor\'s delete set) is acknowledged and stores nothing', async () => {
    const editor = await connect('proposal/p-noop')
    await editor.whenSynced()
    // With their times, as the app writes fields (a write without one adds the server's event).
    writeField(editor.doc.getMap('meta'), 'title', 'first')
    writeField(editor.doc.getMap('meta'), 'title', 'second') // the first value is deleted: a delete set exists
    const storageName = `${server.tenant}/proposal/p-noop`
    await eventually(async () => assert.equal((await server.server.store.readEvents(storageName)).length, 2, 'both edits recorded'))
    const updatesBefore = (await server.server.store.loadUpdates(storageName)).length
    // What a stock client answers on reconnect when it has nothing new: its whole state as sync step 2.
    const reconnecting = await server.raw('/proposal/p-noop?ext=1')
    await eventually(() => assert.ok(reconnecting.messagesOfType(0).length >= 1, 'greeted'))
    reconnecting.send(syncUpdateFrame(Y.encodeStateAsUpdate(editor.doc), 1))
    await eventually(() => assert.ok(reconnecting.messagesOfType(MESSAGE_EXTENSION).length >= 1, 'acknowledged'))
    assert.equal((await server.server.store.readEvents(storageName)).length, 2, 'no event for a change that changed nothing')
    assert.equal((await server.server.store.loadUpdates(storageName)).length, updatesBefore, 'no update stored')
    reconnecting.close()
  })

  test('rooms are independent: an edit in one document never reaches another', async () => {
    const one = await connect('customer/c-1')
    const two = await connect('customer/c-2')
    await Promise.all([one.whenSynced(), two.whenSynced()])
    one.doc.getMap('fields').set('name', 'ACME')
    const observer = await connect('customer/c-1')
    await eventually(() => assert.equal(observer.doc.getMap('fields').get('name'), 'ACME'))
    assert.equal(two.doc.getMap('fields').get('name'), undefined)
  })

  test('awareness propagates and is removed when a client leaves', async () => {
    const alice = await connect('content/k-1')
    const bob = await connect('content/k-1')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    // The server relays a `user` only if it is the token's user (dev tokens are named after their user).
    alice.provider.awareness.setLocalStateField('user', { name: 'alice' })
    await eventually(() => {
      const state = bob.provider.awareness.getStates().get(alice.doc.clientID)
      assert.deepEqual(state?.user, { name: 'alice' })
    })
    // A late joiner receives the current awareness states on connect.
    const carol = await connect('content/k-1')
    await eventually(() => assert.ok(carol.provider.awareness.getStates().has(alice.doc.clientID), 'carol.provider.awareness.getStates().has(alice.doc.clientID)'))
    // Leaving without saying goodbye (socket closed): the server removes the state for everyone.
    alice.provider.awareness.off('update', (alice.provider as unknown as { _awarenessUpdateHandler: never })._awarenessUpdateHandler)
    alice.provider.ws?.close()
    alice.provider.shouldConnect = false
    await eventually(() => {
      assert.equal(bob.provider.awareness.getStates().has(alice.doc.clientID), false)
      assert.equal(carol.provider.awareness.getStates().has(alice.doc.clientID), false)
    })
  })

  test('an awareness state nobody renews expires for everyone; the renewed ones stay', async () => {
    const alice = await connect('content/k-2')
    const bob = await connect('content/k-2')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    alice.provider.awareness.setLocalStateField('user', { name: 'alice' })
    // (Every assert.ok in a poll has a message: without one, each failed try re-parses this file for it.)
    await eventually(() => assert.ok(bob.provider.awareness.getStates().has(alice.doc.clientID), 'Bob sees Alice'))
    // Alice's client stops renewing (a tab frozen in the background, its socket still open).
    alice.provider.awareness.off('update', (alice.provider as unknown as { _awarenessUpdateHandler: never })._awarenessUpdateHandler)
    const room = server.server.rooms.find(server.tenant, 'content/k-2')!
    const later = Date.now() + AWARENESS_TIMEOUT_MS
    // Bob renewed meanwhile (a stock client does every 15 s).
    bob.provider.awareness.setLocalStateField('cursor', { anchor: 1 })
    await eventually(() => assert.ok(alice.provider.awareness.getStates().has(bob.doc.clientID), 'Alice sees Bob'))
    room.expireAwareness(Date.now() + AWARENESS_TIMEOUT_MS / 2)
    assert.deepEqual(room.awareness.clients().sort(), [alice.doc.clientID, bob.doc.clientID].sort())
    room.expireAwareness(later)
    await eventually(() => assert.equal(bob.provider.awareness.getStates().has(alice.doc.clientID), false))
    // A late joiner is sent only the live state.
    const carol = await connect('content/k-2')
    await eventually(() => assert.ok(carol.provider.awareness.getStates().has(bob.doc.clientID), 'Carol sees Bob'))
    assert.equal(carol.provider.awareness.getStates().has(alice.doc.clientID), false)
  })
})
