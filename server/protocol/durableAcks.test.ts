import { writeField } from '../../shared/editTimes.ts'
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { MESSAGE_EXTENSION, readExtensionMessage } from '../../shared/extensionProtocol.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { MessageType } from './protocol.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

const titleUpdate = (title: string, clientID: number) => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  // With its time, as the app writes a field (a write without one gets the server's time, which
  // the sender then receives).
  writeField(doc.getMap('meta'), 'title', title)
  return Y.encodeStateAsUpdate(doc)
}

const acksOf = (frames: Uint8Array[]) =>
  frames.flatMap((frame) => {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarUint(decoder)
    const message = readExtensionMessage(decoder)
    return message?.kind === 'ack' ? [Y.decodeStateVector(message.durableStateVector)] : []
  })

const ackCounts = (frames: Uint8Array[]) =>
  frames.flatMap((frame) => {
    const decoder = decoding.createDecoder(frame)
    decoding.readVarUint(decoder)
    const message = readExtensionMessage(decoder)
    return message?.kind === 'ack' ? [message.durableMessages] : []
  })

describe('durable acks (extension messages)', () => {
  let server: TestServer
  before(async () => {
    server = await startServer()
  })
  after(() => server.dispose())

  test('an opted-in client is told the durable state vector once its update is on disk', async () => {
    const peer = await server.raw(`/proposal/p-ack?ext=1`)
    peer.send(syncUpdateFrame(titleUpdate('acked', 4242)))
    await eventually(() => assert.ok(acksOf(peer.messagesOfType(MESSAGE_EXTENSION)).some((sv) => sv.get(4242) === 2), 'the title and its time are durable'))
    // "Durable" means it: the store holds it now, before anything else happens.
    const stored = await server.server.store.loadUpdates('acme/proposal/p-ack')
    const doc = new Y.Doc()
    for (const update of stored) Y.applyUpdate(doc, update)
    assert.equal(doc.getMap('meta').get('title'), 'acked')
    peer.close()
  })

  test('the ack counts durable messages, so a delete-only message is acknowledged too', async () => {
    const peer = await server.raw(`/proposal/p-count?ext=1`)
    const doc = new Y.Doc()
    doc.clientID = 777
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    doc.getMap('meta').set('title', 'one')
    doc.getMap('meta').set('currency', 'EUR')
    doc.getMap('meta').delete('currency') // moves no state vector
    assert.equal(updates.length, 3)
    for (const update of updates) peer.send(syncUpdateFrame(update))
    await eventually(() => assert.equal(Math.max(...ackCounts(peer.messagesOfType(MESSAGE_EXTENSION))), 3))
    // Counts only grow, one ack per batch.
    const counts = ackCounts(peer.messagesOfType(MESSAGE_EXTENSION))
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b))
    peer.close()
  })

  test('a stock client (no ext=1) never receives an extension message', async () => {
    const stock = await server.raw(`/proposal/p-ack`)
    const optedIn = await server.raw(`/proposal/p-ack?ext=1`)
    stock.send(syncUpdateFrame(titleUpdate('from stock', 5151)))
    optedIn.send(syncUpdateFrame(titleUpdate('from opted-in', 6161)))
    // Each update reaches the other peer only after it is durable, in the same step that acks its
    // sender: once both crossed over, any ack for the stock client would have been sent.
    await eventually(() => {
      assert.ok(acksOf(optedIn.messagesOfType(MESSAGE_EXTENSION)).some((sv) => sv.get(6161) === 2), 'the title and its time are durable')
      assert.equal(stock.messagesOfType(MessageType.Sync).length, 2) // server's step 1 + the other update
      assert.equal(optedIn.messagesOfType(MessageType.Sync).length, 2)
    })
    assert.deepEqual(stock.messagesOfType(MESSAGE_EXTENSION), [])
    stock.close()
    optedIn.close()
  })
})
