import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { startCluster, type TestCluster } from '../cluster/testing/testCluster.ts'
import { DocumentLeases } from '../cluster/documentLease.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { apiRequest } from '../testing/apiRequests.ts'
import type { TestServer } from '../testing/startServer.ts'
import type { AuditReport } from './auditReport.ts'

/**
 * Cluster mode: the node a client (or an admin) reached records the access decision; the owner it
 * was forwarded to does not record it again.
 */
let cluster: TestCluster
let leases: DocumentLeases
const open: StockClient[] = []
before(async () => {
  cluster = await startCluster(2, { args: ['--audit-flush-ms', '10'] })
  leases = new DocumentLeases(cluster.redis.url, { nodeId: 'audit-observer' })
})
after(async () => {
  for (const client of open.splice(0)) client.destroy()
  leases.close()
  await cluster.stop()
})

const asServer = (node: number) => cluster.nodes[node] as unknown as TestServer
const YEAR_MS = 365 * 24 * 3600 * 1000

test('a forwarded connection and a forwarded admin change are each recorded once, by the node reached', async () => {
  const room = 'proposal/audit-cluster'
  const owner = await cluster.nodes[0]!.connect(room, { user: 'olga' })
  open.push(owner)
  await owner.whenSynced()
  assert.ok((await leases.holder(`acme/${room}`))?.nodeId.startsWith('node-0-'), 'node 0 owns the document')
  const forwarded = await cluster.nodes[1]!.connect(room, { user: 'fred' })
  open.push(forwarded)
  await forwarded.whenSynced()
  const admin = await cluster.nodes[1]!.token({ user: 'ada', role: 'admin' })
  const compacted = await adminRequest(asServer(1), admin, 'POST', `/docs/${room}/compact`)
  assert.equal(compacted.status, 200, JSON.stringify(compacted.body))

  const query = new URLSearchParams({ from: new Date(Date.now() - YEAR_MS).toISOString(), to: new Date(Date.now() + YEAR_MS).toISOString() })
  await eventually(async () => {
    // Either node reads the shared store; the other node's records arrive with its next batch.
    const { body } = await adminRequest<AuditReport>(asServer(0), admin, 'GET', `/audit/report?${query}`)
    const opens = body.records.filter((record) => record.action === 'open').map((record) => record.userId).sort()
    assert.deepEqual(opens, ['fred', 'olga'])
    const compactions = body.records.filter((record) => record.route === `POST /admin/docs/${room}/compact`)
    assert.deepEqual(compactions.map((record) => [record.userId, record.outcome, record.code]), [['ada', 'admitted', null]])
  })
})

test("a review decision through /api/reviews forwarded to the document's owner is recorded once, by the node reached", async () => {
  const room = 'proposal/audit-cluster-review'
  const editor = await cluster.nodes[0]!.connect(room, { user: 'edna' })
  open.push(editor)
  await editor.whenSynced()
  assert.ok((await leases.holder(`acme/${room}`))?.nodeId.startsWith('node-0-'), 'node 0 owns the document')
  editor.doc.getMap('financial').set('value', 9_000)
  const admin = await cluster.nodes[1]!.token({ user: 'ada', role: 'admin' })
  const reviewId = await eventually(async () => {
    const { body } = await adminRequest<{ reviews: Array<{ id: string; document: string }> }>(asServer(1), admin, 'GET', '/reviews')
    const held = body.reviews.find((review) => review.document === room)
    assert.ok(held, JSON.stringify(body))
    return held.id
  })
  const manager = await cluster.nodes[1]!.token({ user: 'mona', role: 'manager' })
  const approved = await apiRequest<{ status: string }>(asServer(1), manager, 'POST', `/reviews/${reviewId}/approve`)
  assert.deepEqual([approved.status, approved.body.status], [200, 'approved'])

  // A report flushes its node's records: the owner's first (it recorded whatever it did before it
  // answered the forwarded call), then the reached node's, which then reads both.
  const query = new URLSearchParams({ from: new Date(Date.now() - YEAR_MS).toISOString(), to: new Date(Date.now() + YEAR_MS).toISOString() })
  assert.equal((await adminRequest<AuditReport>(asServer(0), admin, 'GET', `/audit/report?${query}`)).status, 200)
  const { body } = await adminRequest<AuditReport>(asServer(1), admin, 'GET', `/audit/report?${query}`)
  const decisions = body.records.filter((record) => record.route === `POST /api/reviews/${reviewId}/approve`)
  assert.deepEqual(decisions.map((record) => [record.userId, record.document, record.outcome, record.code]), [['mona', room, 'admitted', null]])
})
