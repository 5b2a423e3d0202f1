import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectAckedClient } from '../testing/ackedClient.ts'
import { startServer } from '../testing/startServer.ts'

const cleanups: Array<() => Promise<void>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe('compaction while a document is written', () => {
  test('a large document is compacted after proportionally more stored updates (one per 4 KiB of it), and stays intact', async () => {
    const server = await startServer({ compactAfterUpdates: 20 })
    cleanups.push(() => server.dispose())
    const room = 'proposal/p-large-compaction'
    const storage = `${server.tenant}/${room}`
    const writer = await connectAckedClient(server, room)
    cleanups.push(async () => writer.destroy())
    const text = new Y.XmlText()
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [text])
    writer.doc.getXmlFragment('body').insert(0, [paragraph])
    text.insert(0, 'x'.repeat(400_000)) // compacted, ~400 KB: ~98 stored updates before the next compaction
    // One stored update per keystroke: each is acknowledged (durable) before the next is typed.
    const type = async (count: number, label: string) => {
      for (let i = 0; i < count; i++) {
        text.insert(0, `${label}${i},`)
        const clock = Y.getState(writer.doc.store, writer.doc.clientID)
        await eventually(() => assert.ok(writer.ackedClock() >= clock, `${label}${i} acked`))
      }
    }
    const stored = async () => (await server.server.store.loadUpdates(storage)).length

    await type(25, 'a') // past 20 stored updates, the document's size not known yet: compacted
    await eventually(async () => assert.ok((await stored()) < 20, `${await stored()} stored updates: not compacted at 20`))
    await type(60, 'b') // fewer than ~98: not compacted again (500 updates' worth of a small document)
    assert.ok((await stored()) >= 60, `${await stored()} stored updates: compacted again too early`)
    await type(50, 'c') // past ~98
    await eventually(async () => assert.ok((await stored()) < 60, `${await stored()} stored updates: not compacted`))

    const replica = new Y.Doc()
    for (const update of await server.server.store.loadUpdates(storage)) Y.applyUpdate(replica, update)
    assert.equal(replica.getXmlFragment('body').toString(), writer.doc.getXmlFragment('body').toString())
  })
})
