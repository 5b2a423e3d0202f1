import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { readTextField } from '../../shared/documentModel.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { verifyDocument } from '../admin/documentVerification.ts'
import { REFUSED_UPDATE_BYTES_KEPT } from './eventLog.ts'
import { connectGateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

const MiB = 1024 * 1024
/** Big frames on purpose: the byte budget must not be what refuses them. */
const UNLIMITED_BYTES = { rateBytesPerSecond: 1024 * MiB, rateByteBurst: 1024 * MiB }

const storedBytes = async (server: TestServer, storageName: string): Promise<number> =>
  (await server.server.store.loadUpdates(storageName)).reduce((sum, update) => sum + update.byteLength, 0)

describe('what the document costs on disk', () => {
  const cleanups: Array<() => unknown> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  test('20 rejected 4 MiB titles: the stored document stays in proportion to what was kept, the events keep size and hash, and the log still rebuilds it exactly', async () => {
    let server = await startServer(UNLIMITED_BYTES)
    cleanups.push(() => server.dispose())
    const room = 'proposal/big-titles'
    const storage = `${server.tenant}/${room}`
    const writer = await connectGateClient(server, room)
    cleanups.push(() => writer.destroy())
    writer.map('meta').set('title', 'Kept title')
    // The updates as the provider sends them, as the server receives them.
    const sent: Uint8Array[] = []
    writer.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== writer.provider) sent.push(update)
    })
    for (let i = 0; i < 20; i++) {
      writer.map('meta').set('title', String.fromCharCode(97 + i).repeat(4 * MiB))
      await eventually(() => assert.equal(writer.notices.filter((notice) => notice.ruleId === 'schema').length, i + 1))
    }
    await eventually(() => assert.equal(writer.map('meta').get('title'), 'Kept title'))
    await eventually(async () => {
      const bytes = await storedBytes(server, storage)
      assert.ok(bytes < 256 * 1024, `${bytes} bytes stored for a document holding a short title`)
    })
    const events = await server.server.store.readEvents(storage)
    const rejected = events.filter((event) => event.outcome === 'rejected')
    assert.equal(rejected.length, 20)
    rejected.forEach((event, index) => {
      assert.equal(event.userId, 'alice')
      assert.deepEqual(event.ruleIds, ['schema'])
      assert.deepEqual(event.paths, ['meta.title'])
      assert.ok(event.update.byteLength <= REFUSED_UPDATE_BYTES_KEPT, `event ${event.seq} keeps ${event.update.byteLength} bytes`)
      assert.ok(event.refused, `event ${event.seq} does not record what was refused`)
      assert.ok(event.refused.bytes > 4 * MiB, 'event.refused.bytes > 4 * MiB')
      assert.match(event.refused.sha256, /^[0-9a-f]{64}$/)
      assert.equal(event.refused.bytes, sent[index]!.byteLength)
      assert.equal(event.refused.sha256, createHash('sha256').update(sent[index]!).digest('hex'))
    })
    const eventBytes = events.reduce((sum, event) => sum + event.update.byteLength, 0)
    assert.ok(eventBytes < 2 * MiB, `${eventBytes} bytes of updates in the event log`)
    const report = await verifyDocument(server.server.store, server.tenant, 'proposal', room)
    assert.deepEqual(report.problems, [])
    writer.destroy()
    server = await server.restart()
    cleanups.push(() => server.dispose())
    const reader = await server.connect(room)
    cleanups.push(() => reader.destroy())
    await reader.whenSynced()
    assert.equal(readTextField(reader.doc, 'proposal', 'title'), 'Kept title')
  })

  test('accepted content deleted again: stored bytes passing a multiple of the compacted size trigger a compaction, not only the update count', async () => {
    const server = await startServer(UNLIMITED_BYTES)
    cleanups.push(() => server.dispose())
    const room = 'proposal/pasted-and-deleted'
    const storage = `${server.tenant}/${room}`
    const writer = await connectGateClient(server, room)
    cleanups.push(() => writer.destroy())
    const body = writer.doc.getXmlFragment('body')
    await eventually(() => assert.ok(writer.durableMessages() >= 1, 'the handshake is acknowledged'))
    let durable = writer.durableMessages()
    // Eight 1 MiB pastes, each deleted again: 8 MiB of stored updates for a document of a few bytes
    // unless stored bytes trigger compactions (far below the 500 updates that would).
    for (let i = 0; i < 8; i++) {
      const text = new Y.XmlText()
      text.insert(0, 'p'.repeat(MiB))
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [text])
      body.insert(0, [paragraph])
      const pasted = ++durable
      await eventually(() => assert.equal(writer.durableMessages(), pasted))
      body.delete(0, 1)
      const deleted = ++durable
      await eventually(() => assert.equal(writer.durableMessages(), deleted))
    }
    writer.map('meta').set('title', 'what is left')
    await eventually(() => assert.equal(writer.durableMessages(), durable + 1))
    // At most twice what the last compaction kept (one paste) plus the 1 MiB floor, plus the write
    // that passed that.
    await eventually(async () => {
      const bytes = await storedBytes(server, storage)
      assert.ok(bytes < 4 * MiB + 64 * 1024, `${bytes} bytes stored for a document holding a short title`)
    })
    const report = await verifyDocument(server.server.store, server.tenant, 'proposal', room)
    assert.deepEqual(report.problems, [])
  })
  test("a viewer's refused 200 KiB update: its event keeps who, when, the rule, the size and hash, not the bytes", async () => {
    const server = await startServer(UNLIMITED_BYTES)
    cleanups.push(() => server.dispose())
    const room = 'proposal/viewer-paste'
    const viewer = await connectGateClient(server, room, { user: 'vera', role: 'viewer' })
    cleanups.push(() => viewer.destroy())
    const sent: Uint8Array[] = []
    viewer.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== viewer.provider) sent.push(update)
    })
    viewer.map('meta').set('title', 'v'.repeat(200 * 1024))
    await eventually(() => assert.ok(viewer.notices.some((notice) => notice.ruleId === 'read-only'), 'viewer.notices.some((notice) => notice.ruleId === \'read-only\')'))
    const events = await eventually(async () => {
      const found = await server.server.store.readEvents(`${server.tenant}/${room}`)
      assert.equal(found.length, 1)
      return found
    })
    const [event] = events
    assert.equal(event!.userId, 'vera')
    assert.deepEqual(event!.ruleIds, ['read-only'])
    assert.equal(event!.applied, false)
    assert.equal(event!.update.byteLength, 0)
    assert.equal(event!.refused?.bytes, sent[0]!.byteLength)
    assert.equal(event!.refused?.sha256, createHash('sha256').update(sent[0]!).digest('hex'))
  })
})
