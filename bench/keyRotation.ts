import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import * as Y from 'yjs'
import { startPostgres } from '../shared/testing/postgresInstance.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { DocumentStore } from '../server/persistence/documentStore.ts'
import type { DocumentStorage } from '../server/persistence/documentStorage.ts'
import { PostgresStorage } from '../server/persistence/postgres/postgresStorage.ts'
import { reencrypt, type KeyManagedStore } from '../server/persistence/reencryption.ts'

/**
 * Key rotation figures (README, "Encryption at rest"): a re-encryption pass over DOCUMENTS
 * documents on PostgreSQL and on LevelDB (records/s), and what the key-generation check costs
 * each sealing write on PostgreSQL (the same writes with the check and without it, sequential and
 * 16 at a time), and the check's statement on its own (`--check-only`).
 * `node --import tsx bench/keyRotation.ts [documents] [--check-only]`.
 */
const DOCUMENTS = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 10_000)
const TENANT = 'acme'

const fill = async (store: DocumentStorage, count: number): Promise<void> => {
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let index = next++; index < count; index = next++) {
        const doc = new Y.Doc()
        doc.getText('title').insert(0, `Proposal ${index}: a title of a realistic length`)
        const update = Y.encodeStateAsUpdate(doc)
        const event = { seq: 1, at: Date.now(), userId: 'alice', device: null, outcome: 'accepted' as const, applied: true, ruleIds: [], paths: ['title'], update }
        await store.appendBatch(`${TENANT}/proposal/p-${index}`, { update, stateVector: Y.encodeStateVector(doc), events: [event] })
      }
    }),
  )
}

const timedPass = async (name: string, store: DocumentStorage & KeyManagedStore): Promise<void> => {
  await store.rotateDataKeys(TENANT)
  const started = performance.now()
  const finished = await reencrypt(store, TENANT)
  const seconds = (performance.now() - started) / 1000
  console.log(`${name}: re-encrypted ${finished.rewritten} of ${finished.scanned} records (${DOCUMENTS} documents) in ${seconds.toFixed(2)} s: ${Math.round(finished.rewritten / seconds)} records/s`)
}

/** Mean µs per appendBatch: `parallel` writers, each `perWriter` small updates to a document of its own. */
const writeCost = async (store: PostgresStorage, label: string, parallel: number, perWriter: number): Promise<number> => {
  const started = performance.now()
  await Promise.all(
    Array.from({ length: parallel }, async (_, writer) => {
      const doc = new Y.Doc()
      for (let i = 0; i < perWriter; i++) {
        const before = Y.encodeStateVector(doc)
        doc.getText('title').insert(0, 'x')
        await store.appendBatch(`${TENANT}/cost/${label}-${parallel}-${writer}`, { update: Y.encodeStateAsUpdate(doc, before), stateVector: Y.encodeStateVector(doc) })
      }
    }),
  )
  return ((performance.now() - started) * 1000) / (parallel * perWriter)
}

/**
 * The check on its own: a transaction of `BEGIN; <statement>; COMMIT`, `parallel` connections at
 * once, with the check's statement and with a bare `SELECT 1` (the round trip without the lock).
 */
const checkStatementCost = async (url: string, parallel: number, perConnection: number): Promise<{ check: number; bare: number }> => {
  const pool = new pg.Pool({ connectionString: url, max: parallel })
  try {
    const run = async (statement: string) => {
      const started = performance.now()
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          const client = await pool.connect()
          try {
            for (let i = 0; i < perConnection; i++) {
              await client.query('BEGIN')
              await client.query(statement)
              await client.query('COMMIT')
            }
          } finally {
            client.release()
          }
        }),
      )
      return ((performance.now() - started) * 1000) / (parallel * perConnection)
    }
    const check: number[] = []
    const bare: number[] = []
    for (let round = 0; round < 5; round++) {
      check.push(await run('SELECT key_generation FROM crypto_keyring WHERE id = 1 FOR KEY SHARE'))
      bare.push(await run('SELECT 1'))
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
    return { check: median(check), bare: median(bare) }
  } finally {
    await pool.end()
  }
}

if (process.argv.includes('--check-only')) {
  const postgres = await startPostgres()
  try {
    const store = await PostgresStorage.open(postgres.url, { atRest: { masterKey: randomBytes(32) } })
    await store.close()
    for (const parallel of [1, 16]) {
      const { check, bare } = await checkStatementCost(postgres.url, parallel, parallel === 1 ? 2000 : 200)
      console.log(`PostgreSQL, ${parallel} connection(s) at once: a transaction with the key-generation check ${check.toFixed(0)} µs, with SELECT 1 instead ${bare.toFixed(0)} µs (the lock adds ${(check - bare).toFixed(0)} µs; median of 5 rounds)`)
    }
  } finally {
    await postgres.stop()
  }
  process.exit(0)
}

const postgres = await startPostgres()
try {
  const store = await PostgresStorage.open(postgres.url, { atRest: { masterKey: randomBytes(32) } })
  try {
    await fill(store, DOCUMENTS)
    await timedPass('PostgreSQL', store)
    // The check's cost: the same writes with it and with it skipped (this bench only).
    const keyring = store.fenced.keyring as unknown as { check: (...args: unknown[]) => Promise<void> }
    const check = keyring.check.bind(keyring)
    const skip = async () => {}
    for (const parallel of [1, 16]) {
      const rounds: Record<string, number[]> = { with: [], without: [] }
      for (let round = 0; round < 5; round++) {
        for (const mode of ['with', 'without'] as const) {
          keyring.check = mode === 'with' ? check : skip
          rounds[mode]!.push(await writeCost(store, `${mode}${round}`, parallel, parallel === 1 ? 400 : 60))
        }
      }
      keyring.check = check
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
      const withCheck = median(rounds.with!)
      const without = median(rounds.without!)
      console.log(`PostgreSQL write, ${parallel} at a time: ${withCheck.toFixed(0)} µs per write with the key-generation check, ${without.toFixed(0)} µs without (${(withCheck - without).toFixed(0)} µs, median of 5 rounds)`)
    }
  } finally {
    await store.close()
  }
} finally {
  await postgres.stop()
}

const dir = await tempDir('posalpro-bench-keys-')
try {
  const store = await DocumentStore.open(dir.path, { atRest: { masterKey: randomBytes(32) } })
  try {
    await fill(store, DOCUMENTS)
    await timedPass('LevelDB', store as unknown as DocumentStorage & KeyManagedStore)
  } finally {
    await store.close()
  }
} finally {
  await dir.remove()
}
