import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import * as Y from 'yjs'
import type { EventRecord } from '../persistence/eventLog.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { connectGateClient, type GateClient } from '../testing/gateClients.ts'
import type { TestServer } from '../testing/startServer.ts'
import { nodeMetric, startCluster, type TestCluster } from './testing/testCluster.ts'

/** Any node serves any client: the owner applies the gate, the others forward frames to it. */

let cluster: TestCluster
const open: StockClient[] = []
before(async () => {
  cluster = await startCluster(3)
})
after(async () => {
  for (const client of open.splice(0)) client.destroy()
  await cluster.stop()
})

// connectGateClient and adminRequest need only `connect` and `httpUrl`, which a server process has too.
const asServer = (node: number) => cluster.nodes[node] as unknown as TestServer

const gateClient = async (node: number, room: string, user: { user?: string; role?: 'admin' | 'editor' } = {}): Promise<GateClient> => {
  const client = await connectGateClient(asServer(node), room, user)
  open.push(client)
  return client
}

const metric = (node: number, name: string): Promise<number> => nodeMetric(cluster, node, name)

const sameState = (a: Y.Doc, b: Y.Doc): boolean => Buffer.from(Y.encodeStateVector(a)).equals(Buffer.from(Y.encodeStateVector(b)))

test('clients on three different nodes co-edit one document and converge', async () => {
  const room = 'proposal/three-nodes'
  const clients = [
    await gateClient(0, room, { user: 'alice', role: 'admin' }),
    await gateClient(1, room, { user: 'bob', role: 'admin' }),
    await gateClient(2, room, { user: 'carol', role: 'admin' }),
  ]
  for (const [index, client] of clients.entries()) {
    for (let i = 0; i < 10; i++) client.map('team').set(`n${index}-${i}`, 'editor')
  }
  await eventually(() => {
    for (const client of clients) assert.equal(client.map('team').size, 30, `a client has ${client.map('team').size} of 30 entries`)
    assert.ok(sameState(clients[0]!.doc, clients[1]!.doc) && sameState(clients[0]!.doc, clients[2]!.doc), 'replicas differ')
  })
  // Every write was acknowledged as durable, to the clients on non-owner nodes too.
  await eventually(() => {
    for (const client of clients) assert.ok(client.durableMessages() >= 10, `acked ${client.durableMessages()}`)
  })
  assert.deepEqual(clients[1]!.map('team').toJSON(), clients[0]!.map('team').toJSON())
  assert.deepEqual(clients[2]!.map('team').toJSON(), clients[0]!.map('team').toJSON())
  // Node 0 took the document; nodes 1 and 2 forwarded their clients to it.
  assert.ok((await metric(0, 'collab_cluster_ownership_acquired_total')) >= 1, 'node 0 acquired nothing')
  for (const node of [1, 2]) assert.ok((await metric(node, 'collab_cluster_forwarded_connections_total')) >= 1, `node ${node} forwarded nothing`)
  for (const node of [1, 2]) assert.equal(await metric(node, 'collab_cluster_ownership_acquired_total'), 0, `node ${node} took the document too`)
})

test("the gate's rules hold for an editor on a non-owner node: refused, compensated once for everyone, the rule id reaches the editor", async () => {
  const room = 'proposal/gate-forwarded'
  // The first client's node takes the document; the editor connects to another node.
  const admin = await gateClient(0, room, { user: 'ada', role: 'admin' })
  const editor = await gateClient(1, room, { user: 'eve', role: 'editor' })
  const watcher = await gateClient(2, room, { user: 'wes', role: 'editor' })
  admin.map('team').set('eve', 'editor')
  await eventually(() => assert.equal(editor.map('team').get('eve'), 'editor', 'the admin’s change reached the editor'))

  editor.map('team').set('mallory', 'admin')
  await eventually(() => {
    assert.ok(editor.notices.some((notice) => notice.ruleId === 'team-admin-only' && notice.outcome === 'rejected'), JSON.stringify(editor.notices))
    for (const client of [admin, editor, watcher]) assert.equal(client.map('team').get('mallory'), undefined, 'the refused entry is gone everywhere')
    assert.ok(sameState(admin.doc, editor.doc) && sameState(admin.doc, watcher.doc), 'replicas differ')
  })
  assert.equal(editor.notices.filter((notice) => notice.path === 'team.mallory').length, 1, 'one notice for the one refused change')
  const token = await cluster.nodes[2]!.token({ user: 'ada', role: 'admin' })
  const { body } = await adminRequest<{ events: EventRecord[] }>(asServer(2), token, 'GET', `/docs/${room}/events`)
  assert.equal(body.events.filter((event) => event.outcome === 'compensation').length, 1, JSON.stringify(body.events.map((event) => event.outcome)))
  assert.equal(body.events.find((event) => event.outcome === 'rejected')?.userId, 'eve', 'the event log names the editor on the other node')
})
