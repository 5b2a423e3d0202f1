import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import type { TestServer } from '../testing/startServer.ts'
import { observedCluster } from './testing/testCluster.ts'

/**
 * Compacting a document no node owns (admin API on any node, which `posalpro-admin docs compact`
 * calls online) takes the document as a change does: the node takes its lease and epoch, compacts
 * in its room's order, and gives the lease up when the room unloads. It never writes the document
 * without the lease.
 */
const observed = observedCluster(2)

const metric = async (node: number, name: string): Promise<number> => {
  const text = await (await fetch(`${observed.cluster.nodes[node]!.httpUrl}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
}

test('admin compaction of a document no node owns takes its lease on the node asked, and compacts', async () => {
  const { cluster, store, leases } = observed
  const room = 'proposal/compact-unowned'
  const storageName = `acme/${room}`
  // Stored by a writer that is gone (an earlier owner): five updates, under an epoch nobody holds a lease for.
  const writer = new Y.Doc()
  const epoch = await store.claimNext(storageName)
  for (let i = 0; i < 5; i++) {
    let update: Uint8Array | null = null
    writer.once('update', (bytes: Uint8Array) => (update = bytes))
    writer.getText('title').insert(writer.getText('title').length, `part ${i} `)
    await store.appendBatch(storageName, epoch, { update: update! })
  }
  assert.equal((await store.loadUpdates(storageName)).length, 5)
  assert.equal(await leases.holder(storageName), null, 'nobody owns the document')
  const acquiredBefore = await metric(1, 'collab_cluster_ownership_acquired_total')

  const admin = await cluster.nodes[1]!.token({ user: 'ada', role: 'admin' })
  const answer = await adminRequest<{ compacted?: boolean; error?: { code: string } }>(cluster.nodes[1] as unknown as TestServer, admin, 'POST', `/docs/${room}/compact`)
  assert.equal(answer.status, 200, JSON.stringify(answer.body))
  assert.equal(answer.body.compacted, true)

  // Node 1 took the document (lease and a new epoch above the earlier writer's) to compact it.
  assert.equal(await metric(1, 'collab_cluster_ownership_acquired_total'), acquiredBefore + 1)
  assert.ok((await store.highestEpoch(storageName)) > epoch, 'the compaction was written under a new epoch')
  const updates = await store.loadUpdates(storageName)
  assert.equal(updates.length, 1, 'the stored updates were merged into one')
  const merged = new Y.Doc()
  Y.applyUpdate(merged, updates[0]!)
  assert.equal(merged.getText('title').toString(), writer.getText('title').toString())
  // Once its room unloads the node gives the lease up: another node may take the document at once.
  await eventually(async () => assert.equal(await leases.holder(storageName), null, 'the lease was given up'))
  // The earlier writer's epoch is fenced out from now on.
  let late: Uint8Array | null = null
  writer.once('update', (bytes: Uint8Array) => (late = bytes))
  writer.getText('title').insert(0, 'late ')
  await assert.rejects(store.appendBatch(storageName, epoch, { update: late! }), (error: Error & { code?: string }) => error.code === 'ERR_STALE_EPOCH')
})
