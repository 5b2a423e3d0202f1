import assert from 'node:assert/strict'
import { closeSync, openSync } from 'node:fs'
import { after, describe, test } from 'node:test'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { MESSAGE_EXTENSION, readExtensionMessage } from '../../shared/extensionProtocol.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { CloseCode } from '../../shared/closeCodes.ts'
import { startServer } from '../testing/startServer.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { MessageType, SyncStep } from '../protocol/protocol.ts'
import { readTextField } from '../../shared/documentModel.ts'

/** A stock provider that opted in to acks; every durable state vector it is told is recorded. */
const connectAckedClient = async (
  server: { connect(room: string, options: { ext: boolean; role: 'admin' }): Promise<StockClient> },
  room: string,
) => {
  // An admin, because the burst writes `team` entries: many small valid changes (team is admin-only).
  const client = await server.connect(room, { ext: true, role: 'admin' })
  const acks: Uint8Array[] = []
  client.provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder: decoding.Decoder) => {
    const message = readExtensionMessage(decoder)
    if (message?.kind === 'ack') acks.push(message.durableStateVector)
  }
  return { ...client, acks }
}

/** An acked writer whose first title is durable, and the close codes its connection gets from now on. */
const writerAckedOnce = async (server: Parameters<typeof connectAckedClient>[0], room: string, title: string) => {
  const writer = await connectAckedClient(server, room)
  await writer.whenSynced()
  writer.doc.getMap('meta').set('title', title)
  await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 1, 'the first write is acked'))
  const closes: number[] = []
  writer.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))
  return { writer, closes }
}

// A slow machine lets a burst outgrow the default maximum document size (8 MiB) before the
// first acks arrive; a refused (compensated) key would then be missing for a reason other than durability.
const UNLIMITED = [
  ...['--rate-messages', '1000000', '--rate-message-burst', '1000000', '--rate-bytes', '1000000000', '--rate-byte-burst', '1000000000'],
  ...['--max-buffered', String(2 ** 30), '--max-document-bytes', String(2 ** 29)],
]

const clockOf = (stateVector: Uint8Array | undefined, client: number): number =>
  stateVector ? (Y.decodeStateVector(stateVector).get(client) ?? 0) : 0

describe('persistence', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  test('state survives a graceful restart, map fields and rich text alike', async () => {
    let server = await startServer()
    cleanups.push(() => server.dispose())
    const writer = await server.connect('proposal/p-restart')
    await writer.whenSynced()
    writer.doc.getMap('meta').set('title', 'Persisted')
    const text = new Y.XmlText('Body text')
    writer.doc.getXmlFragment('body').insert(0, [text])
    const reader = await server.connect('proposal/p-restart')
    await eventually(() => assert.equal(reader.doc.getXmlFragment('body').toString(), '<paragraph>Body text</paragraph>'.replace(/<\/?paragraph>/g, '')))
    reader.destroy()
    writer.destroy()
    server = await server.restart()
    const fresh = await server.connect('proposal/p-restart')
    await fresh.whenSynced()
    // `synced` only fires once the content is there: the server loads from disk before answering.
    // Either form: the restarted server moves the legacy title into its text root.
    assert.equal(readTextField(fresh.doc, 'proposal', 'title'), 'Persisted')
    assert.equal(fresh.doc.getXmlFragment('body').toString(), 'Body text')
    fresh.destroy()
  })

  test('SIGKILL during a burst: every acknowledged update is there after restart (5 rounds)', async () => {
    const dir = await tempDir()
    cleanups.push(() => dir.remove())
    let expectedKeys = 0
    for (let round = 0; round < 5; round++) {
      // The burst is far faster than any person types: lift the rate limits, this test is about durability.
      const server = await spawnServer({ dataDir: dir.path, args: UNLIMITED })
      const writer = await connectAckedClient(server, 'proposal/p-burst')
      await writer.whenSynced()
      const meta = writer.doc.getMap('team')
      // Every key written in earlier rounds was acknowledged, so it must have survived the kills.
      for (let i = 0; i < expectedKeys; i++) assert.ok(meta.has(`k${i}`), `round ${round}: k${i} lost`)
      const clientId = writer.doc.clientID
      const firstKey = meta.size
      // A burst of separate updates; kill the server while they are still arriving.
      let written = 0
      const deadline = Date.now() + 60_000
      await new Promise<void>((resolve, reject) => {
        const writeSome = () => {
          for (let i = 0; i < 20; i++) meta.set(`k${firstKey + written++}`, 'editor')
          if (writer.acks.length >= 3 && clockOf(writer.acks.at(-1), clientId) > 0) resolve()
          else if (Date.now() > deadline) {
            const state = { round, written, acks: writer.acks.length, connected: writer.provider.wsconnected, log: server.logs.slice(-5) }
            reject(new Error(`no acks during the burst: ${JSON.stringify(state)}`))
          } else setImmediate(writeSome)
        }
        writeSome()
      })
      await server.kill()
      const ackedClock = Math.max(...writer.acks.map((sv) => clockOf(sv, clientId)))
      writer.destroy()
      // Each meta.set is one item: clocks 0..ackedClock-1 of this client are keys firstKey.. in order.
      expectedKeys = firstKey + ackedClock
      assert.ok(ackedClock > 0 && ackedClock <= written, 'ackedClock > 0 && ackedClock <= written')
    }
    const server = await spawnServer({ dataDir: dir.path })
    const reader = await server.connect('proposal/p-burst')
    await reader.whenSynced()
    for (let i = 0; i < expectedKeys; i++) assert.ok(reader.doc.getMap('team').has(`k${i}`), `k${i} lost`)
    reader.destroy()
    assert.equal(await server.stop(), 0)
  })

  test('SIGKILL while acknowledged writes are only in the write-ahead log: the restart replays them', async () => {
    const dir = await tempDir()
    cleanups.push(() => dir.remove())
    // LevelDB gets the first batch at once and then at most one batch per 10 minutes: every later
    // write is acknowledged from the log alone when the process dies.
    const server = await spawnServer({ dataDir: dir.path, args: ['--store-batch-interval', '600000'] })
    const writer = await connectAckedClient(server, 'proposal/p-wal')
    await writer.whenSynced()
    const team = writer.doc.getMap('team')
    for (let i = 0; i < 30; i++) {
      team.set(`k${i}`, 'editor')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await eventually(() => assert.equal(clockOf(writer.acks.at(-1), writer.doc.clientID), 30, 'all 30 acknowledged'))
    await server.kill()
    writer.destroy()
    const restarted = await spawnServer({ dataDir: dir.path })
    const reader = await restarted.connect('proposal/p-wal')
    await reader.whenSynced()
    for (let i = 0; i < 30; i++) assert.ok(reader.doc.getMap('team').has(`k${i}`), `k${i} lost`)
    assert.ok(
      restarted.logs.some((line) => line.includes('write-ahead log replayed') && !line.includes('"replayed":0')),
      'the writes came back from the log',
    )
    reader.destroy()
    assert.equal(await restarted.stop(), 0)
  })

  test('SIGTERM finishes pending writes, closes the store and exits 0', async () => {
    const dir = await tempDir()
    cleanups.push(() => dir.remove())
    const server = await spawnServer({ dataDir: dir.path })
    const writer = await server.connect('content/k-term')
    await writer.whenSynced()
    for (let i = 0; i < 200; i++) writer.doc.getMap('meta').set('title', `v${i}`)
    // Let the frames reach the server, then stop it while they are being written.
    await eventually(() => assert.ok(server.logs.length > 0, 'server.logs.length > 0'))
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await server.stop(), 0)
    writer.provider.disconnect()
    const again = await spawnServer({ dataDir: dir.path })
    const reader = await again.connect('content/k-term')
    await reader.whenSynced()
    // Whatever the server received before SIGTERM is on disk; the writer holds the rest and resends it.
    writer.provider.connect()
    await eventually(() => assert.equal(readTextField(reader.doc, 'proposal', 'title'), 'v199'))
    writer.destroy()
    reader.destroy()
    assert.equal(await again.stop(), 0)
  })

  test('a client opening a cold document gets all stored content in its sync step 2 (also when it asks while the room loads), then edits as usual', async () => {
    let server = await startServer({ compactAfterUpdates: 100 })
    cleanups.push(() => server.dispose())
    const writer = await server.connect('proposal/p-cold')
    await writer.whenSynced()
    const text = new Y.XmlText()
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [text])
    writer.doc.getXmlFragment('body').insert(0, [paragraph])
    for (let i = 0; i < 300; i++) {
      text.insert((i * 7) % (text.length + 1), `${i},`)
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve)) // several stored updates
    }
    const expected = writer.doc.getXmlFragment('body').toString()
    await eventually(async () => {
      const stored = new Y.Doc()
      for (const update of await server.server.store.loadUpdates('acme/proposal/p-cold')) Y.applyUpdate(stored, update)
      assert.equal(stored.getXmlFragment('body').toString(), expected)
    })
    writer.destroy()
    server = await server.restart()
    // A raw client asks at once (sync step 1 with an empty state vector), as a provider does on open.
    const reader = await server.raw('/proposal/p-cold')
    reader.send(new Uint8Array([MessageType.Sync, SyncStep.Step1, 1, 0]))
    const replica = new Y.Doc()
    await eventually(() => assert.ok(reader.received.some((frame) => frame[0] === MessageType.Sync && frame[1] === SyncStep.Step2), 'no sync step 2 yet'))
    // Everything up to the sync step 2 holds everything: what "synced" means to a provider (the
    // stored updates may come as updates before it).
    const upToStep2 = reader.received.filter((frame) => frame[0] === MessageType.Sync)
    for (const frame of upToStep2.slice(0, upToStep2.findIndex((each) => each[1] === SyncStep.Step2) + 1)) {
      if (frame[1] === SyncStep.Step1) continue
      const decoder = decoding.createDecoder(frame)
      decoding.readVarUint(decoder)
      decoding.readVarUint(decoder)
      Y.applyUpdate(replica, decoding.readVarUint8Array(decoder))
    }
    assert.equal(replica.getXmlFragment('body').toString(), expected)
    // The handshake keeps its order: the server's sync step 1 comes first, so the client's reply
    // is computed before it has the content (and carries nothing the server already has).
    const syncSteps = upToStep2.map((frame) => frame[1])
    assert.equal(syncSteps[0], SyncStep.Step1)
    assert.ok(syncSteps.indexOf(SyncStep.Step2) > 0, 'syncSteps.indexOf(SyncStep.Step2) > 0')
    // Its edit, made on that state, is validated and stored like any other.
    const before = Y.encodeStateVector(replica)
    replica.getMap('meta').set('title', 'after a cold load')
    reader.send(syncUpdateFrame(Y.encodeStateAsUpdate(replica, before)))
    await eventually(() => assert.equal(readTextField(server.server.rooms.find(server.tenant, 'proposal/p-cold')!.doc, 'proposal', 'title'), 'after a cold load'))
    reader.close()
  })

  test('stored updates are compacted in the background and the document is intact', async () => {
    const server = await startServer({ compactAfterUpdates: 50 })
    cleanups.push(() => server.dispose())
    const writer = await server.connect('proposal/p-compact')
    await writer.whenSynced()
    const storage = 'acme/proposal/p-compact'
    for (let i = 0; i < 200; i++) {
      writer.doc.getMap('meta').set('title', `t${i}`)
      // Separate ticks, so group commit does not merge them all into one write.
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await eventually(async () => {
      const stored = await server.server.store.loadUpdates(storage)
      const doc = new Y.Doc()
      for (const update of stored) Y.applyUpdate(doc, update)
      assert.equal(readTextField(doc, 'proposal', 'title'), 't199')
      assert.ok(stored.length < 50, `${stored.length} stored updates`)
    })
    writer.destroy()
  })

  test('a write the log could not take is never acknowledged: peers are closed with 4500 and what was acked stays', async () => {
    const server = await startServer()
    cleanups.push(() => server.dispose())
    const { writer, closes } = await writerAckedOnce(server, 'proposal/p-fail', 'durable')
    const acksBefore = writer.acks.length
    // The disk is full underneath the server: the log's file is swapped for /dev/full (ENOSPC).
    const wal = (server.server.store as unknown as { wal: { fd: number } }).wal
    closeSync(wal.fd)
    wal.fd = openSync('/dev/full', 'w')
    writer.doc.getMap('meta').set('title', 'not durable')
    await eventually(() => assert.ok(closes.includes(CloseCode.PersistenceFailed), `closes: ${closes.join(',')}`))
    assert.equal(writer.acks.slice(acksBefore).some((sv) => clockOf(sv, writer.doc.clientID) >= 2), false)
    assert.equal(server.server.rooms.find(server.tenant, 'proposal/p-fail'), undefined)
    writer.provider.shouldConnect = false
    writer.destroy()
  })

  test('LevelDB refusing a logged write: the write was durable (acked), the room closes with 4500, and a restart replays it', async () => {
    const server = await startServer()
    cleanups.push(() => server.dispose())
    const { writer, closes } = await writerAckedOnce(server, 'proposal/p-refused', 'in LevelDB')
    // Make LevelDB fail underneath the server: its writes now reject (the log still works).
    await (server.server.store as unknown as { persistence: { _transact(f: (db: { close(): Promise<void> }) => Promise<void>): Promise<void> } }).persistence._transact((db) => db.close())
    writer.doc.getMap('meta').set('title', 'only in the log')
    await eventually(() => assert.ok(clockOf(writer.acks.at(-1), writer.doc.clientID) >= 2, 'the logged write is acked: it is durable'))
    writer.doc.getMap('meta').set('title', 'refused')
    await eventually(() => assert.ok(closes.includes(CloseCode.PersistenceFailed), `closes: ${closes.join(',')}`))
    assert.equal(writer.acks.some((sv) => clockOf(sv, writer.doc.clientID) >= 3), false, 'nothing after the refusal is acked')
    writer.provider.shouldConnect = false
    writer.destroy()
    const restarted = await server.restart()
    cleanups.push(() => restarted.dispose())
    const reader = await restarted.connect('proposal/p-refused')
    await reader.whenSynced()
    assert.equal(readTextField(reader.doc, 'proposal', 'title'), 'only in the log')
    reader.destroy()
  })
})
