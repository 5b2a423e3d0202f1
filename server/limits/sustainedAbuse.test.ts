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

/** One update inserting 100 KB into a new document's body. */
const bigUpdate = (): Uint8Array => {
  const doc = new Y.Doc()
  bodyText(doc).insert(0, 'y'.repeat(100_000))
  return Y.encodeStateAsUpdate(doc)
}

describe('sustained abuse of the inbound budget', () => {
  test('a debt of more than a minute of budget is sustained abuse: closed with 1013 ERR_RATE_LIMITED_BYTES, which a stock client retries', async () => {
    // 1000 bytes/s for the user: one 100 KB update owes ~100 s, far past what pausing can absorb.
    const server = await startServer({ rateBytesPerSecond: 1000, rateByteBurst: 1000 })
    try {
      const flooder = await server.raw(`/proposal/p-bytes`)
      await eventually(() => assert.ok(flooder.messagesOfType(0).length > 0, 'flooder.messagesOfType(0).length > 0'))
      flooder.send(syncUpdateFrame(bigUpdate()))
      const closed = await flooder.closed
      assert.equal(closed.code, CloseCode.RateLimited)
      assert.equal(closed.code, 1013)
      assert.equal(closed.errorCode, ErrorCode.RateLimitedBytes)

      // A stock y-websocket 3 client closed so reconnects on its own (it gives up after 44xx).
      const client = await server.connect('proposal/p-bytes-stock', { user: 'bulk' })
      await client.whenSynced()
      const closes: number[] = []
      client.provider.on('connection-close', (event: { code: number } | null) => closes.push(event?.code ?? 0))
      bodyText(client.doc).insert(0, 'z'.repeat(100_000))
      await eventually(() => assert.ok(closes.includes(1013), 'closes.includes(1013)'))
      await eventually(() => assert.equal(client.provider.wsconnected, true))
      assert.equal(client.provider.shouldConnect, true)
      client.destroy()
    } finally {
      await server.dispose()
    }
  })
})
