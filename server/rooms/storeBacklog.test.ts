import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { readTextField } from '../../shared/documentModel.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectGateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { Room } from './room.ts'

const sample = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  return line ? Number(line.split(' ').at(-1)) : NaN
}

describe('backpressure on the store backlog (logged, not yet in LevelDB)', () => {
  const cleanups: Array<() => unknown> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  test('LevelDB held back: the room stops reading its sockets once the backlog passes its limit, resumes when it drains, and nothing is lost', async () => {
    // LevelDB takes a batch at once, then at most one per 5 s: the writes after the first wait
    // in the backlog (durable in the write-ahead log, acknowledged) until then.
    let server: TestServer = await startServer({ storeBatchIntervalMs: 5_000, maxStoreBacklogWrites: 4 })
    cleanups.push(() => server.dispose())
    const name = 'proposal/backlog'
    const scrape = async () => (await fetch(`${server.httpUrl}/metrics`)).text()
    const writer = await connectGateClient(server, name)
    cleanups.push(() => writer.destroy())
    await eventually(() => assert.ok(writer.durableMessages() >= 1, 'the handshake is acknowledged'))
    const room = server.server.rooms.find(server.tenant, name) as Room
    let durable = writer.durableMessages()
    let written = 0
    while (!room.readingPaused && written < 20) {
      writer.map('meta').set('title', `title ${written++}`)
      const expected = ++durable
      await eventually(() => assert.equal(writer.durableMessages(), expected))
    }
    assert.equal(room.readingPaused, true, `not paused after ${written} durable writes held back from LevelDB`)
    const paused = await scrape()
    assert.ok(sample(paused, 'collab_store_backlog_writes') >= 4, paused)
    assert.ok(sample(paused, 'collab_store_backlog_bytes') > 0, 'sample(paused, \'collab_store_backlog_bytes\') > 0')
    assert.equal(sample(paused, 'collab_read_pauses_total'), 1)

    // Sent while paused: read, stored and acknowledged only once LevelDB caught up.
    writer.map('meta').set('title', 'sent while paused')
    const last = ++durable
    await eventually(() => assert.equal(writer.durableMessages(), last))
    assert.equal(room.readingPaused, false)
    await eventually(async () => assert.equal(sample(await scrape(), 'collab_store_backlog_writes'), 0))

    writer.destroy()
    server = await server.restart()
    cleanups.push(() => server.dispose())
    const reader = await server.connect(name)
    cleanups.push(() => reader.destroy())
    await reader.whenSynced()
    assert.equal(readTextField(reader.doc, 'proposal', 'title'), 'sent while paused')
  })
})
