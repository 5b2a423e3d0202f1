import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as Y from 'yjs'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { connectStockClient, type StockClient } from '../../shared/testing/stockClient.ts'
import { countingWebSocket, wireBytes, type CountingWebSocket } from '../../shared/testing/countingWebSocket.ts'
import { writeProposalLocally } from '../../shared/testing/largeProposal.ts'
import { eventually } from '../../shared/testing/eventually.ts'

/**
 * A stock provider that reconnects with its document kept sends its state vector in its sync
 * step 1; the server must answer with what the client lacks, not the whole document, and ask for
 * what it lacks itself. Counted in bytes on the clients' TCP sockets for a ~5 MB proposal: a
 * reconnect with a small change each way must cost a small fraction of the document.
 *
 * The floor is Yjs's protocol: a sync step 2 always carries its sender's whole delete set (~0.4 %
 * of this document), so a reconnect costs that once in each direction. Never more: the
 * reconnecting client's delete set must not be passed on to the other peers, nor stored again
 * (a later handshake from disk would send it once more).
 */

const ROOM = 'proposal/p-large-reconnect'
const DOCUMENT_BYTES = 5 * 1024 * 1024
/** Upgrade request and response (with a token), awareness and the changes themselves. */
const RECONNECT_OVERHEAD_BYTES = 8 * 1024

const bodyText = (doc: Y.Doc): string => doc.getXmlFragment('body').toString()

/** Appends `marker` to the first paragraph of the body (one small local change). */
const appendToFirstParagraph = (doc: Y.Doc, marker: string): void => {
  const body = doc.getXmlFragment('body')
  for (const block of body.toArray()) {
    if (block instanceof Y.XmlElement && block.nodeName === 'paragraph') {
      const text = block.get(0) as Y.XmlText
      text.insert(text.length, marker)
      return
    }
  }
  throw new Error('no paragraph in the body')
}

describe('a reconnecting client with its document kept exchanges only the difference', () => {
  let server: TestServer
  let writer: StockClient
  let writerWire: CountingWebSocket
  let other: StockClient
  let otherWire: CountingWebSocket
  let documentBytes = 0
  let deleteSetBytes = 0
  /** What a reconnect may cost on the wire, both directions: each side's delete set once, and the overhead. */
  let reconnectBudget = 0

  before(async () => {
    server = await startServer()
    const doc = new Y.Doc()
    writeProposalLocally(doc, DOCUMENT_BYTES)
    documentBytes = Y.encodeStateAsUpdate(doc).byteLength
    deleteSetBytes = Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc)).byteLength
    reconnectBudget = 2 * deleteSetBytes + RECONNECT_OVERHEAD_BYTES
    writerWire = countingWebSocket()
    writer = connectStockClient(server.url, ROOM, { params: { token: await server.token() }, doc, WebSocketPolyfill: writerWire.WebSocket })
    await writer.whenSynced()
    // A second client that receives the whole document proves the server holds it (and keeps the room loaded).
    otherWire = countingWebSocket()
    other = connectStockClient(server.url, ROOM, {
      params: { token: await server.token({ user: 'bob' }) },
      WebSocketPolyfill: otherWire.WebSocket,
    })
    await eventually(() => assert.equal(bodyText(other.doc).length, bodyText(writer.doc).length), { timeoutMs: 120_000 })
    // The counting itself: a fresh replica is sent at least the whole document.
    assert.ok(wireBytes(otherWire.sockets).received >= documentBytes, `a fresh client received ${wireBytes(otherWire.sockets).received} bytes of a ${documentBytes}-byte document`)
  })

  after(async () => {
    writer?.destroy()
    other?.destroy()
    await server?.dispose()
  })

  it('to a loaded document: a small change each way costs a small fraction of the document', async (t) => {
    writer.provider.disconnect()
    appendToFirstParagraph(writer.doc, ' [offline edit]')
    appendToFirstParagraph(other.doc, ' [online edit]')
    const before = writerWire.sockets.length
    const otherBefore = wireBytes(otherWire.sockets)
    writer.provider.connect()
    await eventually(() => {
      assert.match(bodyText(writer.doc), /\[online edit\]/)
      assert.match(bodyText(other.doc), /\[offline edit\]/)
    })
    await writer.whenSynced()
    const bytes = wireBytes(writerWire.sockets.slice(before))
    const passedOn = wireBytes(otherWire.sockets).received - otherBefore.received
    t.diagnostic(`document ${documentBytes} bytes, delete set ${deleteSetBytes}; reconnect sent ${bytes.sent}, received ${bytes.received}; the other peer received ${passedOn}`)
    assert.ok(bytes.sent + bytes.received <= reconnectBudget, `reconnect cost ${bytes.sent + bytes.received} bytes, more than ${reconnectBudget}`)
    // The other peer is sent the offline edit, not the reconnecting client's delete set.
    assert.ok(passedOn <= RECONNECT_OVERHEAD_BYTES, `the other peer was sent ${passedOn} bytes for a one-word edit`)
    assert.equal(bodyText(writer.doc), bodyText(other.doc))
  })

  it('after a restart (the document read from disk): the same', async (t) => {
    const before = writerWire.sockets.length
    server = await server.restart()
    // Both providers reconnect on their own; the writer's change is made while the server was down.
    appendToFirstParagraph(writer.doc, ' [edit across the restart]')
    await eventually(() => assert.match(bodyText(other.doc), /\[edit across the restart\]/), { timeoutMs: 60_000 })
    await writer.whenSynced()
    assert.ok(writerWire.sockets.length > before, 'the writer reconnected')
    const bytes = wireBytes(writerWire.sockets.slice(before))
    t.diagnostic(`document ${documentBytes} bytes, delete set ${deleteSetBytes}; reconnect after restart sent ${bytes.sent}, received ${bytes.received}`)
    assert.ok(bytes.sent + bytes.received <= reconnectBudget, `reconnect cost ${bytes.sent + bytes.received} bytes, more than ${reconnectBudget}`)
    assert.equal(bodyText(writer.doc), bodyText(other.doc))
  })
})
