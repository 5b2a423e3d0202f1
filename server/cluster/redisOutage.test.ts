import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { PostgresDocumentStore } from '../persistence/postgres/postgresDocumentStore.ts'
import { connectAckedClient, type AckedClient } from '../testing/ackedClient.ts'
import { startCluster, type TestCluster } from './testing/testCluster.ts'

/** Redis (the leases) goes away and comes back empty, while clients on two nodes keep writing. */

let cluster: TestCluster
let store: PostgresDocumentStore
const open: StockClient[] = []
before(async () => {
  cluster = await startCluster(2)
  store = await PostgresDocumentStore.open(cluster.postgres.url)
})
after(async () => {
  for (const client of open.splice(0)) client.destroy()
  await store.close()
  await cluster.stop()
})

const ROOM = 'proposal/redis-outage'
const readyz = async (node: number): Promise<number> => (await fetch(`${cluster.nodes[node]!.httpUrl}/readyz`)).status

const storedClock = async (writer: AckedClient): Promise<number> => {
  const doc = new Y.Doc()
  for (const update of await store.loadUpdates(`acme/${ROOM}`)) Y.applyUpdate(doc, update)
  return Y.decodeStateVector(Y.encodeStateVector(doc)).get(writer.doc.clientID) ?? 0
}

test('Redis stopped, then started again (empty): no acknowledged write is lost, /readyz says 503 meanwhile, clients recover', async () => {
  const writers = [
    await connectAckedClient(cluster.nodes[0]!, ROOM, { user: 'owner-side', role: 'admin' }),
    await connectAckedClient(cluster.nodes[1]!, ROOM, { user: 'forwarded', role: 'admin' }),
  ]
  open.push(...writers)
  const write = (from: number, count: number) => {
    for (let i = from; i < from + count; i++) for (const [w, writer] of writers.entries()) writer.doc.getMap('team').set(`w${w}-${i}`, 'editor')
  }
  write(0, 10)
  await eventually(() => assert.ok(writers.every((writer) => writer.ackedClock() >= 10), 'the first writes were not acknowledged'))
  assert.equal(await readyz(0), 200)

  await cluster.redis.kill()
  write(10, 10)
  // No node can hold a lease now: both say they are not ready, the owner stops writing.
  await eventually(async () => assert.deepEqual([await readyz(0), await readyz(1)], [503, 503], 'a node says it is ready without Redis'))
  await eventually(() => assert.ok(writers.every((writer) => writer.closes.includes(4502)), `closes: ${writers.map((writer) => writer.closes.join(','))}`))
  const ackedInOutage = writers.map((writer) => writer.ackedClock())
  for (const [w, writer] of writers.entries()) assert.ok((await storedClock(writer)) >= ackedInOutage[w]!, `writer ${w}: an acknowledged write is not stored`)
  write(20, 10)

  await cluster.redis.restart()
  await eventually(async () => assert.deepEqual([await readyz(0), await readyz(1)], [200, 200], 'a node is not ready with Redis back'))
  await eventually(async () => {
    for (const writer of writers) assert.equal(writer.doc.getMap('team').size, 60, `a writer has ${writer.doc.getMap('team').size} of 60 entries`)
    for (const writer of writers) assert.ok(writer.ackedClock() >= 30, `acked ${writer.ackedClock()} of 30`)
    for (const writer of writers) assert.ok((await storedClock(writer)) >= 30, 'not everything is stored')
    assert.ok(Buffer.from(Y.encodeStateVector(writers[0]!.doc)).equals(Buffer.from(Y.encodeStateVector(writers[1]!.doc))), 'replicas differ')
  })
})
