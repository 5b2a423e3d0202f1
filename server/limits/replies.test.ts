import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer } from '../testing/startServer.ts'

const QUERY_AWARENESS = new Uint8Array([3])
const received = (frames: readonly Uint8Array[]): number => frames.reduce((sum, frame) => sum + frame.byteLength, 0)

describe('what a connection makes the server send', () => {
  test('a viewer spamming 1-byte query-awareness frames gets at most its reply budget back; its last question is still answered', async () => {
    const replyBytesPerSecond = 64 * 1024
    const replyByteBurst = 128 * 1024
    // Inbound limits out of the way: this is about what the server sends.
    const server = await startServer({
      replyBytesPerSecond,
      replyByteBurst,
      awarenessQueryIntervalMs: 100,
      connectionMessagesPerSecond: 1_000_000_000,
      connectionMessageBurst: 1_000_000_000,
      rateMessagesPerSecond: 1_000_000_000,
      rateMessageBurst: 1_000_000_000,
    })
    const editors: StockClient[] = []
    try {
      // Five editors with 4 KB presence each: every answer is ~20 KB for a 1-byte question.
      for (let i = 0; i < 5; i++) {
        const editor = await server.connect('proposal/p-query', { user: `editor-${i}` })
        editor.provider.awareness.setLocalStateField('note', `editor ${i}`.padEnd(4096, '.'))
        await editor.whenSynced()
        editors.push(editor)
      }
      const viewer = await server.raw('/proposal/p-query', { user: 'viewer', role: 'viewer' })
      // The viewer's join (sync step 1, presence of the five) before measuring.
      await eventually(() => assert.ok(viewer.messagesOfType(1).length > 0 && viewer.messagesOfType(0).length > 0, 'viewer.messagesOfType(1).length > 0 && viewer.messagesOfType(0).length > 0'))
      await eventually(() => assert.ok(received(viewer.messagesOfType(1)) >= 5 * 4096, 'received(viewer.messagesOfType(1)) >= 5 * 4096'))
      const before = received(viewer.received)
      const startedAt = performance.now()
      let sent = 0
      while (performance.now() - startedAt < 3_000) {
        if (viewer.socket.bufferedAmount < 64 * 1024) {
          for (let i = 0; i < 100; i++) viewer.send(QUERY_AWARENESS)
          sent += 100
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
      const seconds = (performance.now() - startedAt) / 1000
      // Let what the server read and answered arrive.
      await eventually(() => assert.equal(viewer.socket.bufferedAmount, 0))
      const answers = viewer.messagesOfType(1).length
      await eventually(() => {
        // One more answer (the last question, coalesced) may still be due.
        assert.ok(viewer.messagesOfType(1).length >= answers, 'viewer.messagesOfType(1).length >= answers')
      })
      const got = received(viewer.received) - before
      const allowed = replyByteBurst + replyBytesPerSecond * (seconds + 1) + 32 * 1024
      assert.ok(got <= allowed, `${got} bytes answered to ${sent} bytes of questions in ${seconds} s; at most ${allowed}`)
      assert.ok(sent > 10_000, `only ${sent} questions sent`)

      // A question after the flood is answered (late, not dropped), with the presence of the moment.
      const answersBefore = viewer.messagesOfType(1).length
      editors[0]!.provider.awareness.setLocalStateField('cursor', { anchor: 42 })
      viewer.send(QUERY_AWARENESS)
      await eventually(() => assert.ok(viewer.messagesOfType(1).length > answersBefore, 'viewer.messagesOfType(1).length > answersBefore'))
      viewer.close()
    } finally {
      for (const editor of editors) editor.destroy()
      await server.dispose()
    }
  })
})
