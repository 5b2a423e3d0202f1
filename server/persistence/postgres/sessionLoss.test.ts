import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import * as Y from 'yjs'
import { TERMINAL_CLOSE_CODES } from '../../../shared/closeCodes.ts'
import { eventually } from '../../../shared/testing/eventually.ts'
import { spawnServer } from '../../../shared/testing/serverProcess.ts'
import { clockOf, recordAcks } from '../../testing/ackedClient.ts'
import { SERVER_STORES } from '../../testing/serverStores.ts'
import { startServer } from '../../testing/startServer.ts'

/**
 * The database ends the server's sessions while a burst is being written: an administrator's
 * pg_terminate_backend, or the server paused mid-transaction past the database's
 * idle-in-transaction timeout (a GC pause, a starved machine). The room's write fails, its peers
 * are closed (the store-failure code, or cut by the heartbeat after a pause) and reconnect, and
 * writing resumes: acks flow again and everything acknowledged is stored.
 */

const UNLIMITED = ['--rate-messages', '1000000', '--rate-message-burst', '1000000', '--rate-bytes', '1000000000', '--rate-byte-burst', '1000000000']

const storedKeys = async (url: string, document: string): Promise<Set<string>> => {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    const { rows } = await admin.query<{ update: Buffer }>('SELECT "update" FROM document_updates WHERE document = $1 ORDER BY clock', [document])
    const doc = new Y.Doc()
    for (const row of rows) Y.applyUpdate(doc, row.update)
    return new Set(doc.getMap('team').keys())
  } finally {
    await admin.end()
  }
}

test('sessions terminated by the database administrator mid-burst: acks resume, everything acknowledged is stored', async () => {
  const store = await SERVER_STORES.find((each) => each.name === 'PostgreSQL')!.open()
  const server = await startServer(store.config)
  const client = await server.connect('proposal/terminated', { ext: true, role: 'admin' })
  try {
    const seen = recordAcks(client)
    await client.whenSynced()
    const team = client.doc.getMap('team')
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 200; i++) team.set(`r${round}-${i}`, 'editor')
      const admin = new pg.Client({ connectionString: store.postgres!.url })
      await admin.connect()
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
      await admin.end()
      for (let i = 200; i < 400; i++) team.set(`r${round}-${i}`, 'editor')
      const written = clockOf(Y.encodeStateVector(client.doc), client.doc.clientID)
      await eventually(() => assert.ok(seen.ackedClock() >= written, `round ${round}: acked ${seen.ackedClock()} of ${written}, closes ${seen.closes.join(',')}`))
    }
    assert.equal((await storedKeys(store.postgres!.url, `${server.tenant}/proposal/terminated`)).size, 1200)
  } finally {
    client.destroy()
    await server.stop()
    await store.dispose()
  }
})

test('the server paused mid-burst past the idle-in-transaction timeout: its peers reconnect, acks resume, nothing acknowledged is lost (2 rounds)', async () => {
  const store = await SERVER_STORES.find((each) => each.name === 'PostgreSQL')!.open()
  const child = await spawnServer({ dataDir: store.config.dataDir, args: [...store.args, ...UNLIMITED] })
  const client = await child.connect('proposal/paused', { ext: true, role: 'admin' })
  let writing: NodeJS.Timeout | undefined
  try {
    const seen = recordAcks(client)
    await client.whenSynced()
    const team = client.doc.getMap('team')
    const ackedKeys: string[] = []
    for (let round = 0; round < 2; round++) {
      let next = 0
      const keys: string[] = []
      writing = setInterval(() => {
        for (let i = 0; i < 20; i++) {
          const key = `r${round}-${next++}`
          keys.push(key)
          team.set(key, 'editor')
        }
      }, 5)
      await new Promise((resolve) => setTimeout(resolve, 300))
      // Past the store's idle-in-transaction timeout (5 s): the database ends the session the
      // paused server had open, a transaction (or an idle pooled connection) with it.
      child.child.kill('SIGSTOP')
      await new Promise((resolve) => setTimeout(resolve, 6_500))
      child.child.kill('SIGCONT')
      await new Promise((resolve) => setTimeout(resolve, 300))
      clearInterval(writing)
      const written = clockOf(Y.encodeStateVector(client.doc), client.doc.clientID)
      await eventually(() => assert.ok(seen.ackedClock() >= written, `round ${round}: acked ${seen.ackedClock()} of ${written}, closes ${seen.closes.join(',')}`), { timeoutMs: 60_000 })
      ackedKeys.push(...keys)
    }
    // Closed with the store-failure code, or cut by the heartbeat of a server that was paused (1006):
    // never with a code that stops a client from reconnecting.
    assert.deepEqual(seen.closes.filter((code) => TERMINAL_CLOSE_CODES.has(code)), [], `closes: ${seen.closes.join(',')}`)
    const stored = await storedKeys(store.postgres!.url, 'acme/proposal/paused')
    const missing = ackedKeys.filter((key) => !stored.has(key))
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged keys missing`)
  } finally {
    clearInterval(writing)
    client.destroy()
    await child.kill()
    await store.dispose()
  }
})
