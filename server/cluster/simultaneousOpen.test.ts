import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectStockClient, type StockClient } from '../../shared/testing/stockClient.ts'
import type { AuditReport } from '../audit/auditReport.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import type { TestServer } from '../testing/startServer.ts'
import { nodeMetric, startCluster, type TestCluster } from './testing/testCluster.ts'

/**
 * A new document opened on every node at once: each node finds no owner and starts loading it,
 * one takes the lease. The others' clients must be forwarded to it on the same connection, not
 * closed to reconnect.
 */

const NODES = 3
const CLIENTS_PER_NODE = 2
const DOCUMENTS = 4

let cluster: TestCluster
const open: StockClient[] = []
before(async () => {
  cluster = await startCluster(NODES, { args: ['--audit-flush-ms', '10'] })
})
after(async () => {
  for (const client of open.splice(0)) client.destroy()
  await cluster.stop()
})

const metric = (node: number, name: string): Promise<number> => nodeMetric(cluster, node, name)

const sameState = (a: Y.Doc, b: Y.Doc): boolean => Buffer.from(Y.encodeStateVector(a)).equals(Buffer.from(Y.encodeStateVector(b)))

test('clients opening one new document on every node at once are never closed; all converge and see each other’s edits', async () => {
  // Tokens first, so every connection of every document starts in the same tick.
  const plan = await Promise.all(
    Array.from({ length: DOCUMENTS }, (_, d) =>
      Promise.all(
        Array.from({ length: NODES * CLIENTS_PER_NODE }, async (_, c) => {
          const node = cluster.nodes[c % NODES]!
          return { node, token: await node.token({ user: `user-${d}-${c}`, role: 'admin' }) }
        }),
      ),
    ),
  )
  const closes: Array<{ document: number; client: number; code: number; reason: string }> = []
  const documents = plan.map((clients, d) =>
    clients.map(({ node, token }, c) => {
      const client = connectStockClient(node.url, `proposal/simultaneous-open-${d}`, { params: { token } })
      open.push(client)
      // Only the server closes while the test runs (event null: the client closed it itself).
      client.provider.on('connection-close', (event) => {
        if (event) closes.push({ document: d, client: c, code: event.code, reason: event.reason })
      })
      return client
    }),
  )
  for (const [d, clients] of documents.entries()) for (const [c, client] of clients.entries()) client.doc.getMap('team').set(`member-${d}-${c}`, 'editor')

  await eventually(
    () => {
      for (const clients of documents) {
        for (const client of clients) {
          assert.equal(client.doc.getMap('team').size, clients.length, `a client has ${client.doc.getMap('team').size} of ${clients.length} entries`)
          assert.ok(client.provider.synced, 'a client is not synced')
          assert.ok(sameState(client.doc, clients[0]!.doc), 'replicas differ')
        }
      }
    },
    { timeoutMs: 60_000 },
  )
  assert.deepEqual(closes, [], `clients were closed: ${JSON.stringify(closes)}`)
  // The race did happen: nodes started loading a document another node then took.
  const lostRaces = cluster.nodes.flatMap((node) => node.logs).filter((line) => line.includes('another node took the document first')).length
  assert.ok(lostRaces > 0, 'no node lost the race for a document: the test did not exercise it')
  // Each document has one owner; the other nodes' clients reached it through forwarding.
  let acquired = 0
  let forwarded = 0
  for (let node = 0; node < NODES; node++) {
    acquired += await metric(node, 'collab_cluster_ownership_acquired_total')
    forwarded += await metric(node, 'collab_cluster_forwarded_connections_total')
  }
  assert.equal(acquired, DOCUMENTS, `${acquired} acquisitions for ${DOCUMENTS} documents`)
  assert.equal(forwarded, DOCUMENTS * (NODES - 1) * CLIENTS_PER_NODE, `${forwarded} forwarded connections`)
  // Every client's connection is in the access audit once, recorded by the node it reached.
  const admin = await cluster.nodes[0]!.token({ user: 'ada', role: 'admin' })
  const year = 365 * 24 * 3600 * 1000
  const query = new URLSearchParams({ from: new Date(Date.now() - year).toISOString(), to: new Date(Date.now() + year).toISOString() })
  await eventually(async () => {
    // A report flushes its node's records first: the last one read sees every node's.
    let report: AuditReport | null = null
    for (const node of cluster.nodes) report = (await adminRequest<AuditReport>(node as unknown as TestServer, admin, 'GET', `/audit/report?${query}`)).body
    const opens = report!.records.filter((record) => record.action === 'open').map((record) => record.userId).sort()
    const expected = plan.flatMap((clients, d) => clients.map((_, c) => `user-${d}-${c}`)).sort()
    assert.deepEqual(opens, expected)
  })
})
