import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { readTextField } from '../shared/documentModel.ts'
import { eventually, nextEvent } from '../shared/testing/eventually.ts'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { startServer } from '../server/testing/startServer.ts'
import { DIGEST_MISMATCH } from '../server/integrity/digestCheck.ts'
import { openDocument } from './node.ts'

const counter = async (httpUrl: string, line: string): Promise<number> => {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  const found = text.split('\n').find((entry) => entry.startsWith(`${line} `))
  return found ? Number(found.slice(line.length + 1)) : 0
}

test("a device whose stored copy was damaged (same operations, other content) is found out after it syncs, recorded, and loads the server's copy", async () => {
  const server = await startServer()
  const local = await tempDir('posalpro-damaged-')
  const options = { url: server.url, offline: { directory: local.path }, getToken: () => fetchDevToken(server.httpUrl) }
  try {
    // The device writes a title and the server has it.
    const first = openDocument('proposal', 'damaged', options)
    await first.whenSynced()
    first.doc.getText('title').insert(0, 'Fleet renewal')
    await first.whenSaved()
    await eventually(async () => assert.equal(await counter(server.httpUrl, 'collab_digest_checks_total{result="match"}'), 1, 'the healthy copy was checked once and matched'))
    const author = first.doc.clientID
    const healthy = Y.encodeStateAsUpdate(first.doc)
    await first.destroy()

    // Its stored copy is damaged on disk: the same operations (author and clocks) with other
    // characters, and everything else it held. Yjs's sync sees equal state vectors and repairs nothing.
    const forged = new Y.Doc()
    forged.clientID = author
    forged.getText('title').insert(0, 'Fleet removal')
    Y.applyUpdate(forged, healthy) // the author's structs exist already: only the server's are added
    assert.deepEqual(Y.decodeStateVector(Y.encodeStateVector(forged)), Y.decodeStateVector(Y.encodeStateVectorFromUpdate(healthy)), 'same state vector as the healthy copy')
    const persistence = new LeveldbPersistence(local.path)
    await persistence.clearDocument('proposal/damaged')
    await persistence.storeUpdate('proposal/damaged', Y.encodeStateAsUpdate(forged))
    await persistence.destroy()

    const damaged = openDocument('proposal', 'damaged', options)
    const diverged = nextEvent<[Uint8Array]>(damaged, 'diverged')
    await damaged.whenLoaded()
    assert.equal(readTextField(damaged.doc, 'proposal', 'title'), 'Fleet removal', 'the damaged copy loaded')
    const [copy] = await diverged
    assert.ok(damaged.diverged, 'the handle knows')
    assert.equal(damaged.status, 'offline', 'and stays offline')
    const kept = new Y.Doc()
    Y.applyUpdate(kept, copy)
    assert.equal(kept.getText('title').toString(), 'Fleet removal', 'the discarded copy is handed over')
    await damaged.destroy()

    assert.equal(await counter(server.httpUrl, 'collab_integrity_problems_total{source="digest"}'), 1, 'counted')
    const events = await server.server.store.readEvents(`${server.tenant}/proposal/damaged`)
    const integrity = events.filter((event) => event.outcome === 'integrity')
    assert.equal(integrity.length, 1, 'one integrity event')
    assert.equal(integrity[0]!.userId, 'alice', 'with the user')
    assert.deepEqual(integrity[0]!.ruleIds, [DIGEST_MISMATCH], 'and the rule')
    assert.equal(integrity[0]!.applied, false, 'nothing applied')

    // Opened again, the device loads the server's copy and checks out.
    const reopened = openDocument('proposal', 'damaged', options)
    await reopened.whenSynced()
    assert.equal(readTextField(reopened.doc, 'proposal', 'title'), 'Fleet renewal', "the server's copy")
    await eventually(async () => assert.equal(await counter(server.httpUrl, 'collab_digest_checks_total{result="match"}'), 2, 'the fresh copy matches'))
    assert.equal(reopened.diverged, false, 'not diverged')
    await reopened.destroy()
  } finally {
    await server.dispose()
    await local.remove()
  }
})
