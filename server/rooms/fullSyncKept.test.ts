import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { FULL_SYNC_KEPT_FROM_BYTES } from './docResidency.ts'

/**
 * A fresh replica's first sync of a large document is encoded once and kept for the next fresh
 * joiner until the document changes. What must never happen: a joiner answered with a state the
 * document has left — in particular after a deletion alone, which changes no state vector.
 */
describe('the first sync of a large document', () => {
  let server: TestServer
  const clients: StockClient[] = []
  const join = async (name: string) => {
    const client = await server.connect(name)
    clients.push(client)
    await client.whenSynced()
    return client
  }
  const bodyText = (client: StockClient): string => {
    const paragraph = client.doc.getXmlFragment('body').get(0) as Y.XmlElement | undefined
    return (paragraph?.get(0) as Y.XmlText | undefined)?.toString() ?? ''
  }
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    for (const client of clients) client.destroy()
    await server.dispose()
  })

  test('is the same for every fresh joiner while nothing changes, and follows every change, a deletion alone included', async () => {
    const name = 'proposal/full-sync-kept'
    const writer = await join(name)
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText()])
    writer.doc.getXmlFragment('body').insert(0, [paragraph])
    const text = paragraph.get(0) as Y.XmlText
    // Larger than the kept size, in chunks below the message limits.
    const chunk = 'Scope of work and terms of delivery. '.repeat(100)
    while (text.length < FULL_SYNC_KEPT_FROM_BYTES * 1.5) text.insert(text.length, chunk)
    const room = () => server.server.rooms.find(server.tenant, name)!
    await eventually(() => assert.equal(room().doc.getXmlFragment('body').toString().length > FULL_SYNC_KEPT_FROM_BYTES, true))

    const first = await join(name)
    const second = await join(name)
    assert.equal(bodyText(first), text.toString(), 'the first fresh joiner has the document')
    assert.equal(bodyText(second), text.toString(), 'the second fresh joiner (answered from what was kept) has it too')

    // A deletion alone: no new clock, the state vector stays as it was.
    const stateVectorBefore = Y.encodeStateVector(writer.doc)
    text.delete(0, 1000)
    assert.deepEqual(Y.encodeStateVector(writer.doc), stateVectorBefore, 'a deletion leaves the state vector unchanged')
    await eventually(() => assert.equal(bodyText(first), text.toString(), 'the deletion reached the server'))
    const afterDeletion = await join(name)
    assert.equal(bodyText(afterDeletion), text.toString(), 'a fresh joiner after a deletion does not get the text back')

    text.insert(0, 'Revised: ')
    await eventually(() => assert.equal(bodyText(first), text.toString(), 'the insert reached the server'))
    const afterInsert = await join(name)
    assert.equal(bodyText(afterInsert), text.toString(), 'a fresh joiner after an insert has it')
  })
})
