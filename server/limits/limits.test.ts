import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { CloseCode } from '../../shared/closeCodes.ts'
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

  test('a message flood is closed with 4429 ERR_RATE_LIMITED_MESSAGES; other addresses unaffected', async () => {
    // Behind a trusted proxy the address comes from X-Forwarded-For: two clients, two budgets.
    const server = await startServer({ rateMessagesPerSecond: 10, rateMessageBurst: 50, trustProxy: true })
    try {
      const flooder = await server.raw(`/proposal/p-flood`, { ws: { headers: { 'x-forwarded-for': '10.0.0.1' } } })
      const neighbour = await server.raw(`/proposal/p-flood`, { ws: { headers: { 'x-forwarded-for': '10.0.0.2, 10.9.9.9' } } })
      // Flood a loaded room: frames that wait for a room still loading are dropped with their peer
      // when it is closed (never acknowledged, so the client still has them), and the count of
      // stored characters below would depend on how fast the load was. The server's sync step 1
      // says the room is loaded.
      await eventually(() => assert.ok(flooder.messagesOfType(0).length > 0))
      const doc = new Y.Doc()
      for (let i = 0; i < 200 && flooder.socket.readyState === flooder.socket.OPEN; i++) flooder.send(syncUpdateFrame(textUpdate(doc, 'x')))
      const closed = await flooder.closed
      assert.equal(closed.code, CloseCode.RateLimited)
      assert.equal(closed.errorCode, ErrorCode.RateLimitedMessages)
      const other = new Y.Doc()
      other.getMap('meta').set('title', 'neighbour')
      neighbour.send(syncUpdateFrame(Y.encodeStateAsUpdate(other)))
      await eventually(() => assert.equal(server.server.rooms.find(server.tenant, 'proposal/p-flood')?.doc.getMap('meta').get('title'), 'neighbour'))
      assert.equal(neighbour.socket.readyState, neighbour.socket.OPEN)
      neighbour.close()
      // The server is fine and what was accepted before the limit is intact and durable.
      const health = await fetch(`${server.httpUrl}/healthz`)
      assert.equal(health.status, 200)
      await eventually(async () => {
        const stored = await server.server.store.loadUpdates('acme/proposal/p-flood')
        const check = new Y.Doc()
        for (const update of stored) Y.applyUpdate(check, update)
        const length = bodyText(check).length
        assert.ok(length >= 40 && length <= 50, `${length} characters stored`)
      })
    } finally {
      await server.dispose()
    }
  })

  test('without a trusted proxy, X-Forwarded-For is ignored: a spoofed address shares the real one\'s budget', async () => {
    const server = await startServer({ rateMessagesPerSecond: 1, rateMessageBurst: 20 })
    try {
      const doc = new Y.Doc()
      const first = await server.raw(`/proposal/p-spoof`, { ws: { headers: { 'x-forwarded-for': '10.0.0.1' } } })
      const second = await server.raw(`/proposal/p-spoof`, { ws: { headers: { 'x-forwarded-for': '10.0.0.2' } } })
      const otherDoc = new Y.Doc() // each socket sends a history of its own: no cross-socket dependencies
      for (let i = 0; i < 15; i++) first.send(syncUpdateFrame(textUpdate(doc, 'a')))
      for (let i = 0; i < 15; i++) second.send(syncUpdateFrame(textUpdate(otherDoc, 'b')))
      assert.equal((await second.closed).errorCode, ErrorCode.RateLimitedMessages)
      first.close()
    } finally {
      await server.dispose()
    }
  })

  test('a byte flood is closed with 4429 ERR_RATE_LIMITED_BYTES', async () => {
    const server = await startServer({ rateBytesPerSecond: 10_000, rateByteBurst: 100_000 })
    try {
      const flooder = await server.raw(`/proposal/p-bytes`)
      const doc = new Y.Doc()
      for (let i = 0; i < 20 && flooder.socket.readyState === flooder.socket.OPEN; i++) flooder.send(syncUpdateFrame(textUpdate(doc, 'y'.repeat(20_000))))
      const closed = await flooder.closed
      assert.equal(closed.code, CloseCode.RateLimited)
      assert.equal(closed.errorCode, ErrorCode.RateLimitedBytes)
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
