/**
 * The PostgreSQL store's write on its own: what each write costs the node (CPU, `process.cpuUsage`)
 * and how long it takes (wall), on a throwaway PostgreSQL. A batch as a room writes it after a
 * client syncs: the update, its state vector, one event record and one client-id owner. Per
 * document, a first write (a new document, as in a connection storm) then a follow-up (typing).
 * Plain and encrypted at rest; one write at a time, then `concurrency` documents at once.
 * `node --import tsx bench/postgresWrites.ts [documents] [concurrency]`. Not part of `npm run bench`.
 */
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import type { EventRecord } from '../server/persistence/eventLog.ts'
import { PostgresDocumentStore, type DocumentBatch } from '../server/persistence/postgres/postgresDocumentStore.ts'
import { startPostgres } from '../shared/testing/postgresInstance.ts'

const documents = Number(process.argv[2] ?? 1_000)
const concurrency = Number(process.argv[3] ?? 50)

/** A client's document: each edit's batch as the room stores it. */
const client = () => {
  const doc = new Y.Doc()
  let seq = 0
  return (text: string): DocumentBatch => {
    const before = Y.encodeStateVector(doc)
    doc.getText('title').insert(doc.getText('title').length, text)
    const update = Y.encodeStateAsUpdate(doc, before)
    const event: EventRecord = { seq: ++seq, at: Date.now(), userId: 'alice', userName: 'Alice', device: 'laptop', outcome: 'accepted', applied: true, ruleIds: [], paths: ['title'], update }
    return { update, stateVector: Y.encodeStateVector(doc), events: [event], owners: seq === 1 ? [{ client: doc.clientID, userId: 'alice' }] : [] }
  }
}

interface Figures {
  cpuUs: number
  wallMs: number
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** One write at a time: per write, CPU µs and wall ms (medians). */
const oneAtATime = async (store: PostgresDocumentStore, prefix: string): Promise<{ first: Figures; followUp: Figures }> => {
  const names = Array.from({ length: documents }, (_, index) => `acme/proposal/${prefix}-${index}`)
  const clients = names.map(() => client())
  const measure = async (round: number): Promise<Figures> => {
    const cpu: number[] = []
    const wall: number[] = []
    for (const [index, name] of names.entries()) {
      const batch = clients[index]!(`${round}`)
      const cpuBefore = process.cpuUsage()
      const start = performance.now()
      await store.appendBatch(name, 1, batch)
      wall.push(performance.now() - start)
      const used = process.cpuUsage(cpuBefore)
      cpu.push(used.user + used.system)
    }
    return { cpuUs: median(cpu), wallMs: median(wall) }
  }
  // As a room does: the document is loaded (empty) before its first write.
  for (const name of names) await store.loadStored(name)
  return { first: await measure(0), followUp: await measure(1) }
}

/** `concurrency` documents written at once: CPU µs per write, and writes per second. */
const storm = async (store: PostgresDocumentStore, prefix: string): Promise<{ cpuUsPerWrite: number; writesPerSecond: number }> => {
  const names = Array.from({ length: documents }, (_, index) => `acme/proposal/${prefix}-${index}`)
  let next = 0
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < names.length) {
        const name = names[next++]!
        await store.loadStored(name)
        const write = client()
        await store.appendBatch(name, 1, write('a'))
        await store.appendBatch(name, 1, write('b'))
      }
    }),
  )
  const seconds = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpuBefore)
  return { cpuUsPerWrite: Math.round((used.user + used.system) / (2 * documents)), writesPerSecond: Math.round((2 * documents) / seconds) }
}

const postgres = await startPostgres()
try {
  for (const [label, options] of [
    ['plain', {}],
    ['encrypted', { atRest: { masterKey: randomBytes(32) } }],
  ] as const) {
    const url = await postgres.createDatabase(`writes_${label}`)
    const store = await PostgresDocumentStore.open(url, options)
    try {
      // Warm-up (JIT, the pool's connections, the tenant's data key) not counted.
      await oneAtATime(store, 'warm').catch((error: unknown) => console.error(error))
      const serial = await oneAtATime(store, 'serial')
      const together = await storm(store, 'storm')
      console.log(
        `${label}: one at a time, first write ${serial.first.cpuUs} µs CPU / ${serial.first.wallMs.toFixed(2)} ms, ` +
          `follow-up ${serial.followUp.cpuUs} µs / ${serial.followUp.wallMs.toFixed(2)} ms (medians of ${documents}); ` +
          `${concurrency} at once: ${together.cpuUsPerWrite} µs CPU per write, ${together.writesPerSecond} writes/s`,
      )
    } finally {
      await store.close()
    }
  }
} finally {
  await postgres.stop()
}
