import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { connectAckedClient } from '../testing/ackedClient.ts'
import { nodeMetric, startCluster, type TestCluster } from './testing/testCluster.ts'

/** A forwarding node buffers a bounded amount per connection: a client that stops reading is pushed back on, not buffered for. */

const MAX_BUFFERED = 2 * 1024 * 1024
let cluster: TestCluster
const open: StockClient[] = []
before(async () => {
  cluster = await startCluster(2, {
    args: [
      ...['--max-buffered', String(MAX_BUFFERED), '--max-document-bytes', String(900 * 1024)],
      ...['--connection-byte-burst', String(64 * 1024 * 1024), '--rate-byte-burst', String(64 * 1024 * 1024)],
      // No heartbeat during the test: the paused client would be dropped for not answering pings instead.
      ...['--heartbeat-interval', '600000'],
    ],
  })
})
after(async () => {
  for (const client of open.splice(0)) client.destroy()
  await cluster.stop()
})

const metric = (node: number, name: string): Promise<number> => nodeMetric(cluster, node, name)

test('a forwarded client that stops reading: the forwarding node holds at most its bound for it and stops reading the owner', async () => {
  const room = 'proposal/slow-forwarded'
  const writer = await connectAckedClient(cluster.nodes[0]!, room, { user: 'ada', role: 'admin' })
  open.push(writer)
  // A raw client on node 1 (forwarded to node 0) that reads nothing once connected.
  const token = await cluster.nodes[1]!.token({ user: 'sam', role: 'viewer' })
  const slow = new WebSocket(`${cluster.nodes[1]!.url}/${room}?token=${token}`)
  const closed = new Promise<number>((resolve) => slow.once('close', (code) => resolve(code)))
  await new Promise((resolve, reject) => slow.once('open', resolve).once('error', reject))
  await eventually(async () => assert.equal(await metric(1, 'collab_cluster_forwarded_connections'), 1, 'not forwarded'))
  slow.pause()

  // ~20 MB of changes, far beyond what the forwarding node may buffer for the slow client plus what
  // the sockets between hold. Paced by the writer's acks, so a forwarding node that keeps reading
  // the owner never lets the owner's own send buffer grow: only backpressure from node 1 does.
  const chunk = 'x'.repeat(50 * 1024)
  for (let i = 0; i < 400; i++) {
    writer.doc.transact(() => {
      const body = writer.doc.getXmlFragment('body')
      body.delete(0, body.length)
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText(`${i}${chunk}`)])
      body.insert(0, [paragraph])
    })
    if (i % 5 === 4) {
      const written = Y.encodeStateVector(writer.doc)
      const clock = Y.decodeStateVector(written).get(writer.doc.clientID) ?? 0
      await eventually(() => assert.ok(writer.ackedClock() >= clock, 'the writer is not acknowledged'))
    }
  }
  // Node 1 holds at most its bound for the client (plus the few frames read before it paused the
  // owner's socket); the rest waits in the sockets and, past those, in node 0's send buffer.
  const buffered = await metric(1, 'collab_cluster_forward_buffered_bytes')
  assert.ok(buffered <= MAX_BUFFERED + 1024 * 1024, `node 1 holds ${buffered} bytes for one slow client`)
  assert.ok(buffered > 0, 'nothing waits for the slow client: it was not slow')
  slow.terminate()
  await closed
  await eventually(async () => assert.equal(await metric(1, 'collab_cluster_forwarded_connections'), 0, 'the forwarded connection is still open'))
})
