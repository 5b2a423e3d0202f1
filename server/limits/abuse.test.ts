import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import { eventually } from '../../shared/testing/eventually.ts'
import type { RawPeer } from '../../shared/testing/rawPeer.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { frame, syncUpdateFrame } from '../testing/attackFrames.ts'
import { proposalBody } from '../testing/officeWorkload.ts'
import { startServer } from '../testing/startServer.ts'
import type { Peer } from '../connection/peer.ts'

const awarenessFrame = (update: Uint8Array): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint8Array(encoder, update)
  })

/** The neighbours' characters ('n') in every body paragraph: the abuser writes other letters. */
const neighbourCharacters = (updates: readonly Uint8Array[]): number => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  let count = 0
  for (const paragraph of doc.getXmlFragment('body').toArray()) {
    if (paragraph instanceof Y.XmlText) count += paragraph.toString().split('n').length - 1
  }
  return count
}

/** Sends frames as fast as the socket takes them (a little ahead of the kernel) for `ms`. */
const flood = async (peer: RawPeer, ms: number, next: () => Uint8Array): Promise<number> => {
  const until = Date.now() + ms
  let sent = 0
  while (Date.now() < until && peer.socket.readyState === peer.socket.OPEN) {
    if (peer.socket.bufferedAmount < 1024 * 1024) {
      peer.send(next())
      sent++
    } else {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    if (sent % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  return sent
}

describe('one abuser behind a shared address', () => {
  test('floods of messages, bytes and 10 KB awareness updates are slowed to its budget; 10 neighbours on the address are never closed', async () => {
    // Budgets smaller than the defaults (same shape) keep the work of the floods CI-sized; what is
    // tested is whose budget a message spends, not the numbers.
    const limits = {
      connectionMessagesPerSecond: 50,
      connectionMessageBurst: 200,
      connectionBytesPerSecond: 128 * 1024,
      connectionByteBurst: 512 * 1024,
      rateMessagesPerSecond: 100,
      rateMessageBurst: 400,
      rateBytesPerSecond: 256 * 1024,
      rateByteBurst: 1024 * 1024,
    }
    const server = await startServer(limits)
    const room = 'proposal/p-abuse'
    const bystanders: StockClient[] = []
    let closes = 0
    try {
      for (let i = 0; i < 10; i++) {
        const client = await server.connect(room, { user: `neighbour-${i}` })
        client.provider.on('connection-close', () => closes++)
        await client.whenSynced()
        if (i === 0) client.doc.getXmlFragment('body').insert(0, [new Y.XmlText()])
        bystanders.push(client)
      }
      await Promise.all(bystanders.map((client) => eventually(() => assert.ok(proposalBody(client.doc), 'proposalBody(client.doc)'))))

      const abuser = await server.raw(`/${room}`, { user: 'mallory' })
      await eventually(() => assert.ok(abuser.messagesOfType(0).length > 0, 'abuser.messagesOfType(0).length > 0'))
      const abuserPeer = [...server.server.peers].find((peer) => peer.identity.userId === 'mallory') as Peer
      // A second connection of the same user for the big updates (into a paragraph of its own).
      const bigWriter = await server.raw(`/${room}`, { user: 'mallory' })
      await eventually(() => assert.ok(bigWriter.messagesOfType(0).length > 0, 'bigWriter.messagesOfType(0).length > 0'))
      const startedAt = performance.now()

      // The neighbours type all along, one character and one cursor update each per 200 ms.
      let typed = 0
      let bigStartedAt = 0
      const typing = setInterval(() => {
        for (const [i, client] of bystanders.entries()) {
          proposalBody(client.doc)!.insert(0, 'n')
          typed++
          client.provider.awareness.setLocalStateField('cursor', { anchor: 0, user: i })
        }
      }, 200)
      try {
        // 10 KB awareness states, a new one each time (a real y-protocols Awareness).
        const awarenessDoc = new Y.Doc()
        const awareness = new awarenessProtocol.Awareness(awarenessDoc)
        let n = 0
        await flood(abuser, 2_000, () => {
          awareness.setLocalStateField('blob', `${n++}`.padEnd(10_000, 'x'))
          return awarenessFrame(awarenessProtocol.encodeAwarenessUpdate(awareness, [awarenessDoc.clientID]))
        })
        awareness.destroy() // its renewal timer would keep the test process alive
        // Many tiny updates (a title, set again and again).
        const doc = new Y.Doc()
        await flood(abuser, 2_000, () => {
          const before = Y.encodeStateVector(doc)
          doc.getMap('meta').set('title', `t${n++}`)
          return syncUpdateFrame(Y.encodeStateAsUpdate(doc, before))
        })
        // Fewer, bigger updates, on the second connection.
        const bigDoc = new Y.Doc()
        bigDoc.getXmlFragment('body').insert(0, [new Y.XmlText()])
        let first = true
        bigStartedAt = performance.now()
        await flood(bigWriter, 2_000, () => {
          const before = first ? new Uint8Array([0]) : Y.encodeStateVector(bigDoc)
          first = false
          proposalBody(bigDoc)!.insert(0, 'b'.repeat(200_000))
          return syncUpdateFrame(Y.encodeStateAsUpdate(bigDoc, before))
        })
      } finally {
        clearInterval(typing)
      }
      // What the server read from each of the abuser's connections is bounded by its budget.
      const now = performance.now()
      const bigPeer = [...server.server.peers].find((peer) => peer.identity.userId === 'mallory' && peer !== abuserPeer) as Peer
      for (const [peer, since] of [[abuserPeer, startedAt], [bigPeer, bigStartedAt]] as const) {
        const seconds = (now - since) / 1000
        const slack = 1024 * 1024 // frames already read from TCP when reading pauses
        const bytesAllowed = limits.connectionByteBurst + limits.connectionBytesPerSecond * seconds + slack
        const messagesAllowed = limits.connectionMessageBurst + limits.connectionMessagesPerSecond * seconds + 500
        assert.ok(peer.bytesIn <= bytesAllowed, `${peer.bytesIn} bytes read from a connection in ${seconds} s; at most ${bytesAllowed}`)
        assert.ok(peer.messagesIn <= messagesAllowed, `${peer.messagesIn} messages read in ${seconds} s; at most ${messagesAllowed}`)
      }

      // No neighbour was closed, and everything they typed is stored.
      assert.equal(closes, 0)
      for (const client of bystanders) assert.equal(client.provider.wsconnected, true)
      await eventually(async () => assert.equal(neighbourCharacters(await server.server.store.loadUpdates(`${server.tenant}/${room}`)), typed))
      // Their unsent floods would hold a close handshake up: drop them.
      abuser.socket.terminate()
      bigWriter.socket.terminate()
    } finally {
      for (const client of bystanders) client.destroy()
      await server.dispose()
    }
  })
})
