import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { startServer } from '../testing/startServer.ts'

/** The body text of a proposal, created on first use. */
const bodyText = (doc: Y.Doc): Y.XmlText => {
  const body = doc.getXmlFragment('body')
  if (body.length === 0) body.insert(0, [new Y.XmlText()])
  return body.get(0) as Y.XmlText
}

const textUpdate = (doc: Y.Doc, text: string): Uint8Array => {
  const before = Y.encodeStateVector(doc)
  bodyText(doc).insert(0, text)
  return Y.encodeStateAsUpdate(doc, before)
}

describe('connection limits', () => {
  test('a browser Origin outside the allow-list is refused with 403; allowed and absent origins pass', async () => {
    const server = await startServer({ allowedOrigins: 'https://app.posalpro.example, http://localhost:5173' })
    try {
      const refused = await server.raw(`/proposal/p-o`, { ws: { origin: 'https://evil.example' } }).then(
        () => assert.fail('should be refused'),
        (error: { status: number; body: string }) => error,
      )
      assert.equal(refused.status, 403)
      assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, ErrorCode.OriginNotAllowed)
      const allowed = await server.raw(`/proposal/p-o`, { ws: { origin: 'https://app.posalpro.example' } })
      const noOrigin = await server.raw(`/proposal/p-o`)
      allowed.close()
      noOrigin.close()
    } finally {
      await server.dispose()
    }
  })

  test('a slow reader is closed and the server does not buffer for it without bound', async () => {
    const server = await startServer({ maxBufferedBytes: 256 * 1024 })
    try {
      const slow = await server.raw(`/proposal/p-slow`)
      slow.socket.pause() // stops reading from TCP: the kernel buffers fill, then the server's
      const writer = await server.raw(`/proposal/p-slow`)
      const doc = new Y.Doc()
      const serverPeers = () => server.server.peers.size
      assert.equal(serverPeers(), 2)
      const heapBefore = process.memoryUsage().heapUsed
      // 40 MB of updates broadcast to the slow reader, far more than socket buffers hold.
      for (let i = 0; i < 400 && serverPeers() === 2; i++) {
        writer.send(syncUpdateFrame(textUpdate(doc, 'z'.repeat(100_000))))
        await new Promise((resolve) => setImmediate(resolve))
      }
      await eventually(() => assert.equal(serverPeers(), 1))
      assert.equal(writer.socket.readyState, writer.socket.OPEN)
      const grown = process.memoryUsage().heapUsed - heapBefore
      assert.ok(grown < 100 * 1024 * 1024, `heap grew by ${grown} bytes`)
      slow.socket.resume()
      const closed = await slow.closed
      assert.notEqual(closed.code, 1000)
      writer.close()
    } finally {
      await server.dispose()
    }
  })
})
