import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { startServer } from '../testing/startServer.ts'
import { loadConfig } from '../config.ts'
import { connectStockClient } from '../../shared/testing/stockClient.ts'
import { countingWebSocket, wireBytes } from '../../shared/testing/countingWebSocket.ts'
import { writeProposalLocally } from '../../shared/testing/largeProposal.ts'
import { eventually } from '../../shared/testing/eventually.ts'

/**
 * permessage-deflate on the document sockets (`wsCompressionThreshold`): negotiated only when
 * on; a large first sync then crosses the wire compressed; and compression does not open a way
 * around the frame limit (a small compressed frame that inflates past maxPayload is closed 1009).
 */

const ROOM = 'proposal/p-compressed'
const bodyText = (doc: Y.Doc) => doc.getXmlFragment('body').toString()

describe('permessage-deflate', () => {
  it('is not negotiated at 0, the default', async () => {
    assert.equal(loadConfig(['--dev']).wsCompressionThreshold, 0)
    const server = await startServer()
    try {
      const peer = await server.raw(`/${ROOM}`, { ws: { perMessageDeflate: true } })
      assert.equal(peer.socket.extensions, '')
      peer.close()
    } finally {
      await server.dispose()
    }
  })

  it('sends a large first sync compressed, and the joiner gets all of it', async (t) => {
    const server = await startServer({ wsCompressionThreshold: 16 * 1024 })
    const writerDoc = new Y.Doc()
    writeProposalLocally(writerDoc, 1024 * 1024)
    const documentBytes = Y.encodeStateAsUpdate(writerDoc).byteLength
    const writer = connectStockClient(server.url, ROOM, { params: { token: await server.token() }, doc: writerDoc })
    const wire = countingWebSocket()
    const joiner = connectStockClient(server.url, ROOM, { params: { token: await server.token({ user: 'bob' }) }, WebSocketPolyfill: wire.WebSocket })
    try {
      await writer.whenSynced()
      await eventually(() => assert.equal(bodyText(joiner.doc), bodyText(writerDoc)), { timeoutMs: 60_000 })
      const received = wireBytes(wire.sockets).received
      t.diagnostic(`document ${documentBytes} bytes; the joiner received ${received} on the wire`)
      assert.ok(received < documentBytes / 2, `the joiner received ${received} bytes for a ${documentBytes}-byte document`)
    } finally {
      writer.destroy()
      joiner.destroy()
      await server.dispose()
    }
  })

  it('closes a compressed frame that inflates past maxPayload with 1009', async () => {
    const maxPayloadBytes = 64 * 1024
    const server = await startServer({ wsCompressionThreshold: 16 * 1024, maxPayloadBytes })
    try {
      const peer = await server.raw(`/${ROOM}`, { ws: { perMessageDeflate: { threshold: 0 } } })
      assert.match(peer.socket.extensions, /permessage-deflate/)
      // A sync update of zeros: a few hundred bytes compressed, past the limit inflated.
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, 0)
      encoding.writeVarUint(encoder, 2)
      encoding.writeVarUint8Array(encoder, new Uint8Array(maxPayloadBytes * 4))
      const frame = encoding.toUint8Array(encoder)
      peer.socket.send(frame, { compress: true })
      const closed = await peer.closed
      assert.equal(closed.code, 1009)
    } finally {
      await server.dispose()
    }
  })
})
