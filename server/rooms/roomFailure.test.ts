import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { CloseCode, parseCloseReason } from '../../shared/closeCodes.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { readTextField } from '../../shared/documentModel.ts'

/** A stock client, synced, with the close codes (and ERR_* codes) the server sends it. */
const open = async (server: TestServer, room: string, user = 'alice') => {
  const client: StockClient = await server.connect(room, { user })
  const closes: Array<{ code: number; errorCode: string | null }> = []
  client.provider.on('connection-close', (event: CloseEvent | null) => {
    if (event) closes.push({ code: event.code, errorCode: parseCloseReason(event.reason).code })
  })
  await client.whenSynced()
  return { ...client, closes }
}

describe('a room whose frame handling throws', () => {
  const cleanups: Array<() => Promise<unknown> | void> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  test('fails alone: its peers are closed with 1011, reconnect and resync with the reloaded room; other rooms go on', async () => {
    const server = await startServer()
    cleanups.push(() => server.dispose())
    const writer = await open(server, 'proposal/r-failing')
    const reader = await open(server, 'proposal/r-failing', 'bob')
    const elsewhere = await open(server, 'proposal/r-elsewhere', 'carol')
    const elsewhereReader = await open(server, 'proposal/r-elsewhere', 'dan')
    cleanups.push(() => [writer, reader, elsewhere, elsewhereReader].forEach((client) => client.destroy()))
    writer.doc.getMap('meta').set('title', 'Before')
    await eventually(() => assert.equal(reader.doc.getMap('meta').get('title'), 'Before'))

    // No frame of a well-formed client makes the handler throw any more: stand in for such a bug
    // by making this real room's awareness step throw once (the next awareness frame reaches it).
    const room = server.server.rooms.find(server.tenant, 'proposal/r-failing')!
    const receiveAwareness = room.receiveAwareness
    room.receiveAwareness = () => {
      room.receiveAwareness = receiveAwareness
      throw new Error('a bug while handling a frame')
    }
    writer.provider.awareness.setLocalStateField('user', { name: 'alice' })

    const failed = { code: CloseCode.InternalError, errorCode: 'ERR_ROOM_FAILED' }
    await eventually(() => {
      assert.deepEqual(writer.closes, [failed])
      assert.deepEqual(reader.closes, [failed])
    })
    // Stock clients retry 1011: both come back, resync, and edit on.
    await eventually(() => assert.ok(writer.provider.wsconnected && writer.provider.synced && reader.provider.wsconnected && reader.provider.synced, 'both reconnected and synced'))
    writer.doc.getMap('meta').set('title', 'After')
    // Read in either form: the reloaded room moved the legacy title into its text root.
    await eventually(() => assert.equal(readTextField(reader.doc, 'proposal', 'title'), 'After'))
    await eventually(() => assert.equal(reader.provider.awareness.getStates().get(writer.doc.clientID)?.user?.name, 'alice'))

    // The other room never noticed.
    elsewhere.doc.getMap('meta').set('title', 'Unaffected')
    await eventually(() => assert.equal(elsewhereReader.doc.getMap('meta').get('title'), 'Unaffected'))
    assert.deepEqual(elsewhere.closes, [])
    assert.deepEqual(elsewhereReader.closes, [])

    // What was accepted before the failure is durable: a restart still has it all.
    const restarted = await server.restart()
    cleanups.push(() => restarted.dispose())
    const fresh = await open(restarted, 'proposal/r-failing', 'erin')
    cleanups.push(() => fresh.destroy())
    // Read in either form: the restarted server moves the legacy title into its text root.
    await eventually(() => assert.equal(readTextField(fresh.doc, 'proposal', 'title'), 'After'))
  })
})
