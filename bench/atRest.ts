/**
 * Encryption at rest, measured on the store the server writes through (DocumentStore: LevelDB
 * behind its write-ahead log), off and on in the same run:
 *   - CPU per write (a group commit's batch: an update and its event record), process.cpuUsage;
 *   - cold load of documents (a fresh store, each document's stored updates and state vector);
 *   - re-encryption of 10,000 documents after a data key rotation.
 * `node --import tsx bench/atRest.ts [writes] [documents]`. Not part of `npm run bench`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as Y from 'yjs'
import { DocumentStore } from '../server/persistence/documentStore.ts'
import { reencrypt } from '../server/persistence/reencryption.ts'
import type { EventRecord } from '../server/persistence/eventLog.ts'

const writes = Number(process.argv[2] ?? 20_000)
const documents = Number(process.argv[3] ?? 10_000)
const DOCS_FOR_WRITES = 100

const typing = (count: number): Uint8Array[] => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (let i = 0; i < count; i++) doc.getText('title').insert(doc.getText('title').length, 'x')
  return updates
}

const event = (seq: number, update: Uint8Array): EventRecord => ({ seq, at: Date.now(), userId: 'alice', device: null, outcome: 'accepted', applied: true, ruleIds: [], paths: ['title'], update })

const run = async (label: string, masterKey: Buffer | null) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'posalpro-bench-at-rest-'))
  const atRest = { masterKey }
  try {
    const updates = typing(Math.ceil(writes / DOCS_FOR_WRITES))
    let store = await DocumentStore.open(dir, { atRest })
    const cpu = process.cpuUsage()
    for (let i = 0; i < writes; i++) {
      const doc = i % DOCS_FOR_WRITES
      const seq = Math.floor(i / DOCS_FOR_WRITES)
      await store.appendBatch(`acme/proposal/w-${doc}`, { update: updates[seq]!, events: [event(seq + 1, updates[seq]!)] })
    }
    await store.close()
    const used = process.cpuUsage(cpu)
    const cpuPerWriteUs = (used.user + used.system) / writes

    store = await DocumentStore.open(dir, { atRest })
    const started = performance.now()
    for (let doc = 0; doc < DOCS_FOR_WRITES; doc++) await store.loadStored(`acme/proposal/w-${doc}`)
    const coldLoadMs = (performance.now() - started) / DOCS_FOR_WRITES
    await store.close()
    console.log(`${label}: ${cpuPerWriteUs.toFixed(1)} µs CPU per write (update + event), cold load ${coldLoadMs.toFixed(2)} ms per document (${writes / DOCS_FOR_WRITES} updates each)`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const reencryptionTime = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'posalpro-bench-at-rest-'))
  const atRest = { masterKey: randomBytes(32) }
  try {
    const store = await DocumentStore.open(dir, { atRest })
    const [update] = typing(1)
    for (let doc = 0; doc < documents; doc++) await store.appendBatch(`acme/proposal/d-${doc}`, { update: update!, events: [event(1, update!)] })
    await store.rotateDataKeys('acme')
    const started = performance.now()
    const result = await reencrypt(store, 'acme')
    const seconds = (performance.now() - started) / 1000
    await store.close()
    console.log(`re-encryption of ${documents} documents: ${result.rewritten} records rewritten of ${result.scanned} in ${seconds.toFixed(1)} s`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await run('encryption off', null)
await run('encryption on ', randomBytes(32))
await reencryptionTime()
