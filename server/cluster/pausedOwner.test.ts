import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectAckedClient } from '../testing/ackedClient.ts'
import { observedCluster } from './testing/testCluster.ts'

/** The owner is paused (SIGSTOP) past its lease, another node takes over, then the old owner runs again. */

const observed = observedCluster()

const ROOM = 'proposal/paused-owner'
const STORAGE_NAME = `acme/${ROOM}`
const stateVector = (doc: Y.Doc) => Buffer.from(Y.encodeStateVector(doc))

test('an owner paused past its lease: another node takes over and accepts writes; after SIGCONT none of the old owner’s later writes is stored or broadcast, no replica diverges', async () => {
  const client = async (node: number, user: string) => {
    const writer = await connectAckedClient(observed.cluster.nodes[node]!, ROOM, { user, role: 'admin' })
    observed.open.push(writer)
    return writer
  }
  // Node 0 owns the document: its own clients (a writer and a reader) and one forwarded from node 1.
  const onOwner = await client(0, 'olga')
  const reader = await client(0, 'rita')
  const forwarded = await client(1, 'fred')
  onOwner.doc.getMap('team').set('before', 'editor')
  forwarded.doc.getMap('team').set('before-forwarded', 'editor')
  await eventually(() => assert.equal(reader.doc.getMap('team').size, 2, 'the first writes reached the reader'))
  const oldOwner = await observed.leases.holder(STORAGE_NAME)
  assert.ok(oldOwner && oldOwner.nodeId.startsWith('node-0-'), `node 0 owns the document, not ${oldOwner?.nodeId}`)

  // What the reader receives from the old owner until it is disconnected from it.
  const seenBeforeFirstClose = new Set<string>()
  reader.doc.getMap('team').observe((event) => {
    if (reader.closes.length === 0) for (const key of event.keysChanged) seenBeforeFirstClose.add(key)
  })

  observed.cluster.nodes[0]!.child.kill('SIGSTOP')
  // Written while the owner is paused: these frames wait in its socket until it runs again.
  for (let i = 0; i < 5; i++) onOwner.doc.getMap('team').set(`paused-${i}`, 'editor')

  // Another node takes the document over once the lease has run out, and accepts writes.
  const newcomer = await client(2, 'nina')
  newcomer.doc.getMap('team').set('after-takeover', 'editor')
  const newOwner = await eventually(async () => {
    assert.ok(newcomer.ackedClock() >= 1, 'the new owner has not acknowledged the write')
    const holder = await observed.leases.holder(STORAGE_NAME)
    assert.ok(holder && holder.nodeId !== oldOwner.nodeId, 'the paused node still holds the lease')
    return holder
  })
  assert.ok(newOwner.epoch > oldOwner.epoch, `epoch ${newOwner.epoch} > ${oldOwner.epoch}`)
  // The forwarded client left the paused owner (no pong) and reached the new owner through node 1.
  await eventually(() => assert.equal(forwarded.doc.getMap('team').get('after-takeover'), 'editor', 'the forwarded client did not reach the new owner'))

  observed.cluster.nodes[0]!.child.kill('SIGCONT')
  await eventually(() => assert.ok(onOwner.closes.includes(4502) && reader.closes.includes(4502), `old owner clients closed with ${onOwner.closes} / ${reader.closes}\n${observed.cluster.nodes[0]!.logs.slice(-15).join('\n')}`))
  for (let i = 0; i < 5; i++) assert.ok(!seenBeforeFirstClose.has(`paused-${i}`), `the old owner broadcast paused-${i}`)
  const metrics = await (await fetch(`${observed.cluster.nodes[0]!.httpUrl}/metrics`)).text()
  assert.match(metrics, /^collab_cluster_ownership_lost_total\{reason="(expired|taken|stale-epoch)"\} [1-9]/m, 'the old owner counts the lost document')

  // Nothing was stored under the old epoch after the new owner's first write.
  const client_ = new pg.Client({ connectionString: observed.cluster.postgres.url })
  await client_.connect()
  const { rows } = await client_.query<{ epoch: string }>('SELECT epoch FROM document_updates WHERE document = $1 ORDER BY clock', [STORAGE_NAME])
  await client_.end()
  const epochs = rows.map((row) => Number(row.epoch))
  const firstNew = epochs.findIndex((epoch) => epoch >= newOwner.epoch)
  assert.ok(firstNew >= 0, 'the new owner wrote')
  assert.ok(epochs.slice(firstNew).every((epoch) => epoch >= newOwner.epoch), `an old-epoch write after the takeover: ${epochs.join(',')}`)

  // The paused writes reach everyone through the new owner (the client resends them); every replica converges.
  const everyone = [onOwner, reader, forwarded, newcomer]
  await eventually(async () => {
    for (const each of everyone) assert.equal(each.doc.getMap('team').size, 8, `a replica has ${each.doc.getMap('team').size} of 8 entries`)
    for (const each of everyone) assert.ok(stateVector(each.doc).equals(stateVector(onOwner.doc)), 'replicas differ')
    const stored = new Y.Doc()
    for (const update of await observed.store.loadUpdates(STORAGE_NAME)) Y.applyUpdate(stored, update)
    assert.ok(stateVector(stored).equals(stateVector(onOwner.doc)), 'PostgreSQL differs from the replicas')
  })
})
