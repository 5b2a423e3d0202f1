import { writeField } from '../../shared/editTimes.ts'
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer } from '../testing/startServer.ts'
import { documentAsOf } from './eventLog.ts'

test('retention folds expired events into a base: the log still rebuilds the document, numbering continues', async () => {
  // 0 days: every event is expired by the time the document loads again.
  let server = await startServer({ eventRetentionDays: 0 })
  const storage = `${server.tenant}/proposal/ret-1`
  try {
    const writer = await server.connect('proposal/ret-1')
    await writer.whenSynced()
    // Not a free-text field (title, …): the restarted server would move it into its text root, a
    // change of its own with an event. With their times, as the app writes fields (a write without
    // one adds the server's event).
    writeField(writer.doc.getMap('meta'), 'dueDate', '2027-01-01')
    writeField(writer.doc.getMap('meta'), 'dueDate', '2027-01-02')
    writeField(writer.doc.getMap('meta'), 'currency', 'EUR')
    await eventually(async () => assert.equal((await server.server.store.readEvents(storage)).length >= 3, true))
    const lastBefore = await server.server.store.lastEventSeq(storage)
    writer.destroy()
    server = await server.restart()
    const again = await server.connect('proposal/ret-1') // loading the document prunes
    await again.whenSynced()

    await eventually(async () => assert.deepEqual(await server.server.store.readEvents(storage), []))
    const base = await server.server.store.eventBase(storage)
    assert.equal(base?.seq, lastBefore)
    const stored = await server.server.store.loadDoc(storage)
    const rebuilt = documentAsOf(base, [], base!.seq)
    assert.deepEqual(rebuilt.getMap('meta').toJSON(), { dueDate: '2027-01-02', currency: 'EUR' })
    assert.deepEqual(Y.encodeStateVector(rebuilt), Y.encodeStateVector(stored.doc))
    assert.throws(() => documentAsOf(base, [], base!.seq - 1), /older than the retained history/)

    writeField(again.doc.getMap('meta'), 'dueDate', '2027-01-03')
    await eventually(async () => assert.deepEqual((await server.server.store.readEvents(storage)).map((e) => e.seq), [lastBefore + 1]))
    again.destroy()
  } finally {
    await server.dispose()
  }
})
