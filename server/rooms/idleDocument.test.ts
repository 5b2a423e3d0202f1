import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { proposalModel, readTextField } from '../../shared/documentModel.ts'
import { keepIdleDocMs, type Room } from './room.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

describe('a document nobody changes is kept encoded, not as a Y.Doc', () => {
  let server: TestServer
  const clients: StockClient[] = []
  const connect = async (name: string, options: Parameters<TestServer['connect']>[1] = {}) => {
    const client = await server.connect(name, options)
    clients.push(client)
    await client.whenSynced()
    return client
  }
  const room = (name: string): Room => server.server.rooms.find(server.tenant, name)!
  /** As the server's sweep would, once the document has been idle long enough (two looks: used, then idle). */
  const letGo = async (name: string) => {
    await room(name).commits.drain()
    room(name).letDocGoIfIdle(Date.now() + 60_000)
    room(name).letDocGoIfIdle(Date.now() + 120_000)
    assert.equal(room(name).holdsDoc, false)
  }
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    for (const client of clients) client.destroy()
    await server.dispose()
  })

  test('kept for a second, or 1000 times what rebuilding it costs', () => {
    assert.equal(keepIdleDocMs(40), 1_000)
    assert.equal(keepIdleDocMs(300 * 1024), 76_800)
  })

  test("the server's sweep lets a small document go about a second after its last change", async () => {
    const name = 'proposal/idle-0'
    const editor = await connect(name)
    const changed = Date.now()
    proposalModel(editor.doc).meta.set('title', 'Quiet now')
    await eventually(() => assert.equal(room(name).doc.getMap('meta').get('title'), 'Quiet now'))
    await eventually(() => assert.equal(room(name).holdsDoc, false), { timeoutMs: 5_000 })
    assert.ok(Date.now() - changed >= 1_000, `let go after ${Date.now() - changed} ms`)
    assert.equal(editor.provider.wsconnected, true)
  })

  test('joiners are answered from the encoded state; the next change builds the doc again, through the gate', async () => {
    const name = 'proposal/idle-1'
    const manager = await connect(name, { user: 'max', role: 'manager' })
    const editor = await connect(name)
    proposalModel(manager.doc).financial.set('value', 1000)
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText('Dear customer,')])
    proposalModel(manager.doc).body.insert(0, [paragraph])
    await eventually(() => assert.equal(proposalModel(editor.doc).financial.get('value'), 1000))
    const clientID = room(name).doc.clientID

    // Not before its time.
    await room(name).commits.drain()
    room(name).letDocGoIfIdle(Date.now())
    room(name).letDocGoIfIdle(Date.now() + 500)
    assert.equal(room(name).holdsDoc, true)
    await letGo(name)

    // A fresh joiner, and one that already has part of the document, get exactly what they lack.
    const fresh = await connect(name, { user: 'carol' })
    assert.equal(proposalModel(fresh.doc).financial.get('value'), 1000)
    assert.equal(proposalModel(fresh.doc).body.toString(), '<paragraph>Dear customer,</paragraph>')
    const partial = new Y.Doc()
    Y.applyUpdate(partial, Y.encodeStateAsUpdate(manager.doc, Y.encodeStateVector(partial)))
    proposalModel(manager.doc).meta.set('title', 'After the copy')
    await eventually(() => assert.equal(proposalModel(fresh.doc).meta.get('title'), 'After the copy'))
    await letGo(name)
    const late = await connect(name, { user: 'dora', doc: partial })
    await eventually(() => assert.equal(proposalModel(late.doc).meta.get('title'), 'After the copy'))
    assert.deepEqual(Y.encodeStateVector(late.doc), Y.encodeStateVector(manager.doc))
    assert.equal(room(name).holdsDoc, false, 'answering joiners needs no Y.Doc')

    // An editor's financial change is still held for review (the gate sees the rebuilt doc).
    proposalModel(editor.doc).financial.set('value', 5)
    await eventually(() => {
      assert.equal(proposalModel(editor.doc).financial.get('value'), 1000)
      assert.equal(proposalModel(fresh.doc).financial.get('value'), 1000)
    })
    assert.equal(room(name).holdsDoc, true)
    assert.equal(room(name).doc.clientID, clientID, 'the server goes on under its client id')
    // A manager's change is kept, and everyone converges.
    proposalModel(manager.doc).financial.set('value', 2000)
    await eventually(() => {
      for (const client of [editor, fresh, late]) assert.equal(proposalModel(client.doc).financial.get('value'), 2000)
    })
    assert.deepEqual(Y.encodeStateVector(room(name).doc), Y.encodeStateVector(manager.doc))
  })

  test('a server change applies to a let-go doc; a restarted server has it all', async () => {
    const name = 'proposal/idle-2'
    const editor = await connect(name)
    proposalModel(editor.doc).meta.set('title', 'Before')
    await eventually(() => assert.equal(room(name).doc.getMap('meta').get('title'), 'Before'))
    await letGo(name)
    await room(name).applyServerChange(
      (doc) => doc.getMap('meta').set('title', 'By the server'),
      () => ({ events: [], reviews: [] }),
    )
    await eventually(() => assert.equal(proposalModel(editor.doc).meta.get('title'), 'By the server'))
    await letGo(name)
    for (const client of clients.splice(0)) client.destroy()
    server = await server.restart()
    const reader = await connect(name, { role: 'viewer' })
    // Read in either form: the restarted server moves the legacy title into its text root.
    await eventually(() => assert.equal(readTextField(reader.doc, 'proposal', 'title'), 'By the server'))
  })
})
