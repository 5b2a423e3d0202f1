import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { connectGateClient, type GateClient } from '../testing/gateClients.ts'
import type { TestServer } from '../testing/startServer.ts'
import { DocumentLeases } from './documentLease.ts'
import { startCluster, type TestCluster } from './testing/testCluster.ts'
import { connectAckedClient } from '../testing/ackedClient.ts'

/** The admin API answers on every node; a change to a document goes to its owner's room. */

let cluster: TestCluster
let leases: DocumentLeases
const open: StockClient[] = []
before(async () => {
  cluster = await startCluster(2)
  leases = new DocumentLeases(cluster.redis.url, { nodeId: 'test-observer' })
})
after(async () => {
  for (const client of open.splice(0)) client.destroy()
  leases.close()
  await cluster.stop()
})

// connectGateClient and adminRequest need only `connect` and `httpUrl`, which a server process has too.
const asServer = (node: number) => cluster.nodes[node] as unknown as TestServer
const gateClient = async (node: number, room: string, user: { user?: string; role?: 'admin' | 'editor' | 'manager' } = {}): Promise<GateClient> => {
  const client = await connectGateClient(asServer(node), room, user)
  open.push(client)
  return client
}
const forwardedAdminRequests = async (node: number): Promise<number> => {
  const text = await (await fetch(`${cluster.nodes[node]!.httpUrl}/metrics`)).text()
  return Number(/^collab_cluster_forwarded_admin_requests_total (\d+)/m.exec(text)?.[1] ?? 0)
}

test("an admin revert and a review approval sent to a non-owner node take effect in the owner's room", async () => {
  const room = 'proposal/admin-anywhere'
  // Node 0 owns the document; the admin talks to node 1.
  const manager = await gateClient(0, room, { user: 'max', role: 'manager' })
  const editor = await gateClient(0, room, { user: 'eve', role: 'editor' })
  const owner = await leases.holder(`acme/${room}`)
  assert.ok(owner && owner.nodeId.startsWith('node-0-'), `node 0 owns the document, not ${owner?.nodeId}`)
  const admin = await cluster.nodes[1]!.token({ user: 'ada', role: 'admin' })

  manager.map('financial').set('value', 1000)
  await eventually(() => assert.equal(editor.map('financial').get('value'), 1000, 'the manager’s value reached the editor'))
  editor.map('financial').set('value', 2500)
  const held = await eventually(() => {
    const notice = editor.notices.find((each) => each.outcome === 'review')
    assert.ok(notice?.reviewId, JSON.stringify(editor.notices))
    return notice
  })

  // The notice may arrive before the item is durable (as on one node): wait until any node can read it.
  await eventually(async () => assert.equal((await adminRequest(asServer(1), admin, 'GET', `/reviews/${held.reviewId}`)).status, 200, 'the review item is not stored yet'))
  const approved = await adminRequest<ReviewItem>(asServer(1), admin, 'POST', `/reviews/${held.reviewId}/approve`)
  assert.equal(approved.status, 200, JSON.stringify(approved.body))
  assert.equal(approved.body.status, 'approved')
  await eventually(() => {
    assert.equal(manager.map('financial').get('value'), 2500, 'the approval did not reach the owner’s clients')
    assert.equal(editor.map('financial').get('value'), 2500, 'the approval did not reach the editor')
  })

  const { body } = await adminRequest<{ events: EventRecord[] }>(asServer(1), admin, 'GET', `/docs/${room}/events`)
  const first = body.events.find((event) => event.outcome === 'accepted')
  assert.ok(first, JSON.stringify(body.events.map((event) => event.outcome)))
  const reverted = await adminRequest<{ revertedTo: number }>(asServer(1), admin, 'POST', `/docs/${room}/revert`, { seq: first.seq })
  assert.equal(reverted.status, 200, JSON.stringify(reverted.body))
  await eventually(() => {
    assert.equal(manager.map('financial').get('value'), 1000, 'the revert did not reach the owner’s clients')
    assert.equal(editor.map('financial').get('value'), 1000, 'the revert did not reach the editor')
  })
  // Both went through node 0's room: node 1 forwarded them and never took the document.
  assert.equal(await forwardedAdminRequests(1), 2)
  assert.equal((await leases.holder(`acme/${room}`))?.nodeId, owner.nodeId)
})

test('/api/documents on a node lists the documents other nodes created', async () => {
  const room = 'proposal/listed-elsewhere'
  const writer = await connectAckedClient(cluster.nodes[0]!, room, { user: 'ada', role: 'admin' })
  open.push(writer)
  writer.doc.getMap('team').set('ada', 'admin')
  await eventually(() => assert.ok(writer.ackedClock() >= 1, 'not stored yet'))
  const token = await cluster.nodes[1]!.token({ user: 'bob', role: 'viewer' })
  const response = await fetch(`${cluster.nodes[1]!.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${token}` } })
  const { documents } = (await response.json()) as { documents: Array<{ name: string }> }
  assert.ok(documents.some((document) => document.name === room), JSON.stringify(documents))
})
