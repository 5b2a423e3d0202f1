import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { RawPeer } from '../../shared/testing/rawPeer.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { MessageType, SyncStep } from './protocol.ts'

/** The updates a raw peer was sent in sync messages (step 2 and update), in order. */
const receivedUpdates = (peer: RawPeer): Uint8Array[] =>
  peer.received.flatMap((frame) => {
    const decoder = decoding.createDecoder(frame)
    if (decoding.readVarUint(decoder) !== MessageType.Sync) return []
    const step = decoding.readVarUint(decoder)
    return step === SyncStep.Step2 || step === SyncStep.Update ? [decoding.readVarUint8Array(decoder)] : []
  })

const updateMessages = (peer: RawPeer): number =>
  peer.received.filter((frame) => {
    const decoder = decoding.createDecoder(frame)
    return decoding.readVarUint(decoder) === MessageType.Sync && decoding.readVarUint(decoder) === SyncStep.Update
  }).length

/** The updates of `count` separate title changes, each its own transaction. */
const titleUpdates = (doc: Y.Doc, count: number): Uint8Array[] => {
  const updates: Uint8Array[] = []
  const capture = (update: Uint8Array) => void updates.push(update)
  doc.on('update', capture)
  // Each with its time, as the app writes fields: a write without one gets a time from the server,
  // which the sender would then receive.
  for (let i = 0; i < count; i++) {
    doc.transact(() => {
      doc.getMap('meta').set('title', `title ${i}`)
      doc.getMap('editedAt').set('meta.title', Date.now() - 1000)
    })
  }
  doc.off('update', capture)
  return updates
}

describe('broadcast', () => {
  let server: TestServer
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    await server.dispose()
  })

  test('updates that become durable together reach each other peer as one message, and the sender is not echoed', async () => {
    const observer = await server.raw('/proposal/b-1')
    const writer = await server.raw('/proposal/b-1')
    // Both greeted: the room is loaded.
    await eventually(() => assert.ok(observer.received.length > 0 && writer.received.length > 0, 'observer.received.length > 0 && writer.received.length > 0'))
    const doc = new Y.Doc()
    const updates = titleUpdates(doc, 50)
    for (const update of updates) writer.send(syncUpdateFrame(update))
    const replica = new Y.Doc()
    await eventually(() => {
      for (const update of receivedUpdates(observer)) Y.applyUpdate(replica, update)
      assert.equal(replica.getMap('meta').get('title'), 'title 49')
    })
    assert.deepEqual(Y.encodeStateVector(replica), Y.encodeStateVector(doc))
    // 50 messages sent in one burst are stored in a few group commits; each is one message per peer.
    assert.ok(updateMessages(observer) <= 10, `${updateMessages(observer)} update messages for 50 updates`)
    assert.equal(updateMessages(writer), 0)
    observer.close()
    writer.close()
  })
})
