import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { CloseCode } from '../../shared/closeCodes.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { startServer } from '../testing/startServer.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { MessageType, SyncStep } from '../protocol/protocol.ts'

const docOf = (updates: readonly Uint8Array[]): Y.Doc => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc
}

/**
 * Cold loads: what a peer that opens a document that is not in memory gets, and how the document
 * is kept on disk so that answer is cheap (one stored update, a current state vector).
 */
describe('cold load', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  test('once its last peer has left and its writes are durable, a document is stored as one update with a current state vector (the next cold load reads and sends one blob)', async () => {
    const server = await startServer()
    cleanups.push(() => server.dispose())
    const writer = await server.connect('proposal/p-idle')
    await writer.whenSynced()
    const storage = 'acme/proposal/p-idle'
    for (let i = 0; i < 30; i++) {
      writer.doc.getMap('meta').set('title', `t${i}`)
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve))
    }
    await eventually(async () => assert.equal(docOf(await server.server.store.loadUpdates(storage)).getMap('meta').get('title'), 't29'))
    // While someone edits, every write is its own stored update (compaction waits for the threshold).
    assert.ok((await server.server.store.loadUpdates(storage)).length > 1, '(await server.server.store.loadUpdates(storage)).length > 1')
    const expected = Y.encodeStateVector(writer.doc)
    writer.destroy()
    await eventually(async () => {
      const { updates, stateVector } = await server.server.store.loadStored(storage)
      assert.equal(updates.length, 1)
      assert.deepEqual(stateVector, expected)
      assert.equal(docOf(updates).getMap('meta').get('title'), 't29')
    })
  })

  for (const stateVectorKept of [true, false]) {
    test(`a cold document stored as several updates${stateVectorKept ? '' : ' whose state vector entry is stale'} reaches a peer that asks while it loads complete by its sync step 2, after the server's sync step 1`, async () => {
      const dir = await tempDir()
      cleanups.push(() => dir.remove())
      const writer = new Y.Doc()
      const text = new Y.XmlText()
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [text])
      const store = await DocumentStore.open(dir.path)
      const append = async (change: () => void) => {
        const before = Y.encodeStateVector(writer)
        change()
        const update = Y.encodeStateAsUpdate(writer, before)
        await store.appendBatch('acme/proposal/p-parts', { update, ...(stateVectorKept ? { stateVector: Y.encodeStateVector(writer) } : {}) })
      }
      await append(() => writer.getXmlFragment('body').insert(0, [paragraph]))
      for (let i = 0; i < 4; i++) await append(() => text.insert((i * 7) % (text.length + 1), `part ${i},`))
      await append(() => writer.getMap('meta').set('title', 'in parts'))
      await store.close()
      const server = await startServer({ dataDir: dir.path })
      cleanups.push(() => server.stop())
      const reader = await server.raw('/proposal/p-parts')
      reader.send(new Uint8Array([MessageType.Sync, SyncStep.Step1, 1, 0]))
      await eventually(() => assert.ok(reader.received.some((frame) => frame[0] === MessageType.Sync && frame[1] === SyncStep.Step2), 'reader.received.some((frame) => frame[0] === MessageType.Sync && frame[1] ===...'))
      const syncFrames = reader.received.filter((frame) => frame[0] === MessageType.Sync)
      const step2At = syncFrames.findIndex((frame) => frame[1] === SyncStep.Step2)
      assert.equal(syncFrames[0]![1], SyncStep.Step1, 'the server states its state vector first')
      const replica = new Y.Doc()
      for (const frame of syncFrames.slice(1, step2At + 1)) {
        assert.notEqual(frame[1], SyncStep.Step1)
        const decoder = decoding.createDecoder(frame)
        decoding.readVarUint(decoder)
        decoding.readVarUint(decoder)
        Y.applyUpdate(replica, decoding.readVarUint8Array(decoder))
      }
      assert.equal(replica.getXmlFragment('body').toString(), writer.getXmlFragment('body').toString())
      assert.equal(replica.getMap('meta').get('title'), 'in parts')
      assert.equal(replica.store.pendingStructs, null)
      // The server's state vector was the stored document's.
      const decoder = decoding.createDecoder(syncFrames[0]!)
      decoding.readVarUint(decoder)
      decoding.readVarUint(decoder)
      assert.deepEqual(decoding.readVarUint8Array(decoder), Y.encodeStateVector(writer))
      reader.close()
    })
  }

  test('a damaged stored update fails the load: a peer that asked while it loaded gets no content and is closed with ERR_PERSISTENCE_FAILED', async () => {
    const dir = await tempDir()
    cleanups.push(() => dir.remove())
    const store = await DocumentStore.open(dir.path)
    const writer = new Y.Doc()
    writer.getMap('meta').set('title', 'fine')
    await store.appendBatch('acme/proposal/p-damaged', { update: Y.encodeStateAsUpdate(writer), stateVector: Y.encodeStateVector(writer) })
    await store.appendBatch('acme/proposal/p-damaged', { update: new Uint8Array([1, 200, 200, 200, 7]), stateVector: Y.encodeStateVector(writer) })
    await store.close()
    const server = await startServer({ dataDir: dir.path })
    cleanups.push(() => server.stop())
    const reader = await server.raw('/proposal/p-damaged')
    reader.send(new Uint8Array([MessageType.Sync, SyncStep.Step1, 1, 0]))
    const closed = await reader.closed
    assert.equal(closed.code, CloseCode.PersistenceFailed)
    assert.equal(closed.errorCode, ErrorCode.PersistenceFailed)
    assert.deepEqual(reader.messagesOfType(MessageType.Sync), [])
  })
})
