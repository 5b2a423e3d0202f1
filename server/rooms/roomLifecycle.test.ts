import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { readTextField } from '../../shared/documentModel.ts'
import type * as Y from 'yjs'

const titleOf = (doc: Y.Doc | undefined): string | undefined => (doc ? readTextField(doc, 'content', 'title') : undefined)

describe('room lifecycle', () => {
  let server: TestServer
  before(async () => {
    server = await startServer({ roomUnloadGraceMs: 50 })
  })
  after(() => server.dispose())
  const room = (name: string) => server.server.rooms.find(server.tenant, name)

  test('a room is unloaded after its last peer left and the grace period, and reloads intact', async () => {
    const writer = await server.connect('proposal/p-life')
    await writer.whenSynced()
    writer.doc.getMap('meta').set('title', 'Before unload')
    writer.doc.getXmlFragment('body').insert(0, [])
    const loaded = room('proposal/p-life')
    assert.ok(loaded, 'loaded')
    await eventually(() => assert.equal(loaded.doc.getMap('meta').get('title'), 'Before unload'))
    writer.destroy()
    await eventually(() => assert.equal(room('proposal/p-life'), undefined))
    assert.equal(loaded.state, 'closed')

    const reader = await server.connect('proposal/p-life')
    await reader.whenSynced()
    assert.equal(titleOf(reader.doc), 'Before unload')
    assert.notEqual(room('proposal/p-life'), loaded)
    reader.destroy()
  })

  test('a room with peers is never unloaded', async () => {
    const stayer = await server.connect('proposal/p-stay')
    const leaver = await server.connect('proposal/p-stay')
    await Promise.all([stayer.whenSynced(), leaver.whenSynced()])
    const loaded = room('proposal/p-stay')
    leaver.destroy()
    // Wait for the server to notice the leave, then well past the grace period.
    await eventually(() => assert.equal(loaded?.peers.size, 1))
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(room('proposal/p-stay'), loaded)
    assert.equal(loaded?.state, 'ready')
    stayer.destroy()
  })

  test('a peer arriving while the room unloads gets the complete document', async () => {
    // Many rounds of: write, leave, come back right around the moment the unload runs.
    for (let round = 0; round < 15; round++) {
      const writer = await server.connect('content/k-race')
      await writer.whenSynced()
      writer.doc.getMap('meta').set('title', `round ${round}`)
      // Read in either form: each reload moves the legacy title into its text root, later writes are folded in.
      await eventually(() => assert.equal(titleOf(room('content/k-race')?.doc), `round ${round}`))
      writer.destroy()
      // Vary the return time across the 50 ms grace period and the unload's drain.
      await new Promise((resolve) => setTimeout(resolve, 35 + (round % 5) * 5))
      const reader = await server.connect('content/k-race')
      await reader.whenSynced()
      assert.equal(titleOf(reader.doc), `round ${round}`)
      reader.destroy()
    }
  })
})
