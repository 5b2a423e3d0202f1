import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectAckedClient } from '../testing/ackedClient.ts'
import { observedCluster } from './testing/testCluster.ts'

/** The owner of a document is killed (SIGKILL) in the middle of a burst of writes, three times. */

const observed = observedCluster()

const ROOM = 'proposal/owner-crash'
const STORAGE_NAME = `acme/${ROOM}`
const UPDATES_PER_WRITER = 40
const KILL_AT = 20

const storedDoc = async (): Promise<Y.Doc> => {
  const doc = new Y.Doc()
  for (const update of await observed.store.loadUpdates(STORAGE_NAME)) Y.applyUpdate(doc, update)
  return doc
}

/** The index of the node holding the document's lease. */
const ownerIndex = async (): Promise<number> => {
  const holder = await observed.leases.holder(STORAGE_NAME)
  assert.ok(holder, 'nobody holds the document')
  const index = observed.cluster.nodes.findIndex((node) => node.logs.some((line) => line.includes(`"nodeId":"${holder.nodeId}"`)))
  assert.ok(index >= 0, `no running node is ${holder.nodeId}`)
  return index
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

test('kill -9 of the owner during a burst: every acknowledged update is kept, another node takes over, replicas converge (3 rounds)', async () => {
  // The first client's node takes the document.
  const first = await connectAckedClient(observed.cluster.nodes[0]!, ROOM, { user: 'ada', role: 'admin' })
  observed.open.push(first)
  for (let round = 0; round < 3; round++) {
    const owner = await eventually(ownerIndex)
    const writers = await Promise.all(
      [1, 2].map((step) => connectAckedClient(observed.cluster.nodes[(owner + step) % 3]!, ROOM, { user: `writer-${round}-${step}`, role: 'admin' })),
    )
    observed.open.push(...writers)
    let killed: Promise<unknown> = Promise.resolve()
    const ackedAtKill: number[] = []
    for (let i = 0; i < UPDATES_PER_WRITER; i++) {
      for (const [w, writer] of writers.entries()) writer.doc.getMap('team').set(`r${round}-w${w}-${i}`, 'editor')
      if (i === KILL_AT) {
        // Some of the burst is acknowledged before the owner dies.
        await eventually(() => assert.ok(writers.every((writer) => writer.ackedClock() > 0), 'no acks yet'))
        ackedAtKill.push(...writers.map((writer) => writer.ackedClock()))
        killed = observed.cluster.nodes[owner]!.kill()
      }
      await tick()
    }
    await killed
    // Everything acknowledged before the kill is in PostgreSQL.
    const stored = Y.encodeStateVector(await storedDoc())
    for (const [w, writer] of writers.entries()) {
      const storedClock = Y.decodeStateVector(stored).get(writer.doc.clientID) ?? 0
      assert.ok(storedClock >= ackedAtKill[w]!, `writer ${w}: acked ${ackedAtKill[w]} but stored ${storedClock}`)
    }
    // A survivor takes the document over and accepts the rest of the burst; every replica converges.
    await eventually(
      async () => {
        const newOwner = await ownerIndex()
        assert.notEqual(newOwner, owner, 'the dead node still holds the document')
        for (const writer of writers) assert.ok(writer.ackedClock() >= UPDATES_PER_WRITER, `writer acked ${writer.ackedClock()} of ${UPDATES_PER_WRITER}`)
        const expected = (round + 1) * 2 * UPDATES_PER_WRITER
        for (const writer of writers) assert.equal(writer.doc.getMap('team').size, expected, `a writer has ${writer.doc.getMap('team').size} of ${expected} entries`)
        assert.ok(Buffer.from(Y.encodeStateVector(writers[0]!.doc)).equals(Buffer.from(Y.encodeStateVector(writers[1]!.doc))), 'writers differ')
        const doc = await storedDoc()
        assert.equal(doc.getMap('team').size, expected, `PostgreSQL holds ${doc.getMap('team').size} of ${expected} entries`)
      },
      { timeoutMs: 60_000 },
    )
    for (const writer of writers) assert.ok(writer.closes.includes(4502), `a forwarded writer was closed with 4502, saw ${writer.closes.join(',')}`)
    await observed.cluster.restart(owner)
  }
})
