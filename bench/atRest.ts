/**
 * Encryption at rest, off and on in the same run:
 *   - the real server in its own process (its CPU from /proc): CPU per typed change of a stock
 *     client, and the cold load of that document after a restart (connect to synced);
 *   - the store the server writes through (DocumentStore: LevelDB behind its write-ahead log): CPU
 *     per write (an update and its event record) and cold load of documents;
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
import { spawnServer } from '../shared/testing/serverProcess.ts'
import { eventually } from '../shared/testing/eventually.ts'
import { readProcStats } from './procStats.ts'

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

const SERVER_CHANGES = 2_000

const serverRun = async (label: string, masterKey: string | null) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'posalpro-bench-at-rest-'))
  const env: Record<string, string> = { COLLAB_MASTER_KEY_FILE: '', COLLAB_MASTER_KEY: masterKey ?? '' }
  const args = ['--rate-messages', '1000000', '--rate-message-burst', '1000000']
  try {
    let server = await spawnServer({ dataDir: dir, env, args })
    const writer = await server.connect('proposal/bench')
    await writer.whenSynced()
    const pid = server.child.pid!
    const before = readProcStats(pid)
    const title = writer.doc.getText('title')
    // The title stays under its 200-character limit: every 100th change deletes half of it.
    for (let i = 0; i < SERVER_CHANGES; i++) {
      if (title.length >= 100) title.delete(0, 50)
      else title.insert(title.length, String(i % 10))
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const reader = await server.connect('proposal/bench')
    await eventually(() => {
      if (reader.doc.getText('title').toString() !== title.toString()) throw new Error('not yet')
    }, { timeoutMs: 120_000 })
    const after = readProcStats(pid)
    writer.destroy()
    reader.destroy()
    await server.stop()
    server = await spawnServer({ dataDir: dir, env, args })
    const started = performance.now()
    const cold = await server.connect('proposal/bench')
    await cold.whenSynced()
    const coldMs = performance.now() - started
    cold.destroy()
    await server.stop()
    const cpuNs = after.cpuNs !== null && before.cpuNs !== null ? after.cpuNs - before.cpuNs : (after.cpuUs - before.cpuUs) * 1000
    console.log(`server, ${label}: ${(cpuNs / 1000 / SERVER_CHANGES).toFixed(0)} µs server CPU per typed change (${SERVER_CHANGES}, one reader joining), cold load after restart ${coldMs.toFixed(0)} ms (connect to synced)`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await serverRun('encryption off', null)
await serverRun('encryption on ', randomBytes(32).toString('base64'))
await run('encryption off', null)
await run('encryption on ', randomBytes(32))
await reencryptionTime()
