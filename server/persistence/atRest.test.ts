import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { LeveldbPersistence } from 'y-leveldb'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { readTextField } from '../../shared/documentModel.ts'
import { filesContaining, hashFiles, newMasterKey } from '../testing/atRestFiles.ts'
import { startServer } from '../testing/startServer.ts'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import { DocumentStore } from './documentStore.ts'
import type { EventRecord } from './eventLog.ts'

/**
 * Encryption at rest on the LevelDB store: nothing readable on disk, everything readable with the
 * key, nothing opened (or changed) without it, and a record moved elsewhere detected.
 */

const TITLE = 'Zanzibar Harbour Retrofit Proposal'
const CUSTOMER = 'Quetzalcoatl Shipping Company'

const expectCode = (code: string) => (error: unknown) => {
  assert.ok(isCollabError(error), `expected a CollabError, got ${String(error)}`)
  assert.equal(error.code, code, error.message)
  return true
}

test('with a master key no file under the data directory holds a title or a customer name, and a restart with the key reads them', async () => {
  const masterKey = newMasterKey()
  const server = await startServer({ masterKey })
  try {
    const proposal = await server.connect('proposal/p-secret')
    const customer = await server.connect('customer/c-secret')
    await Promise.all([proposal.whenSynced(), customer.whenSynced()])
    proposal.doc.getText('title').insert(0, TITLE)
    customer.doc.getText('name').insert(0, CUSTOMER)
    const storedTitle = async (room: string) => (await server.server.store.loadUpdates(`${server.tenant}/${room}`)).length
    await eventually(async () => assert.ok((await storedTitle('proposal/p-secret')) > 0 && (await storedTitle('customer/c-secret')) > 0, 'stored'))
    // While running: LevelDB's log and tables and the write-ahead log segments.
    assert.deepEqual(filesContaining(server.dataDir, TITLE), [])
    assert.deepEqual(filesContaining(server.dataDir, CUSTOMER), [])
    proposal.destroy()
    customer.destroy()
    const restarted = await server.restart()
    try {
      assert.deepEqual(filesContaining(server.dataDir, TITLE), [])
      assert.deepEqual(filesContaining(server.dataDir, CUSTOMER), [])
      const reader = await restarted.connect('proposal/p-secret')
      await reader.whenSynced()
      assert.equal(readTextField(reader.doc, 'proposal', 'title'), TITLE)
      const events = await restarted.server.store.readEvents(`${server.tenant}/proposal/p-secret`)
      assert.ok(events.length > 0, 'the event log reads back')
      reader.destroy()
    } finally {
      await restarted.dispose()
    }
  } finally {
    await server.stop().catch(() => {})
  }
})

test('without the key, or with another key, the server refuses to start and no file changes', async () => {
  const masterKey = newMasterKey()
  const server = await startServer({ masterKey })
  const client = await server.connect('proposal/p-locked')
  await client.whenSynced()
  client.doc.getText('title').insert(0, TITLE)
  await eventually(async () => assert.ok((await server.server.store.loadUpdates(`${server.tenant}/proposal/p-locked`)).length > 0, 'stored'))
  client.destroy()
  await server.stop()
  try {
    const before = hashFiles(server.dataDir)
    await assert.rejects(startServer({ dataDir: server.dataDir }), expectCode(ErrorCode.MasterKeyRequired))
    assert.deepEqual(hashFiles(server.dataDir), before)
    await assert.rejects(startServer({ dataDir: server.dataDir, masterKey: newMasterKey() }), expectCode(ErrorCode.WrongMasterKey))
    assert.deepEqual(hashFiles(server.dataDir), before)
    await assert.rejects(startServer({ dataDir: server.dataDir, masterKey: 'not a key' }), expectCode(ErrorCode.BadMasterKey))
    assert.deepEqual(hashFiles(server.dataDir), before)
    // The real process: exits 1 with the code, and its whole life changed no file either.
    await assert.rejects(spawnServer({ dataDir: server.dataDir, env: { COLLAB_MASTER_KEY: newMasterKey() } }), /exited \(1\)[\s\S]*ERR_WRONG_MASTER_KEY/)
    await assert.rejects(spawnServer({ dataDir: server.dataDir, env: { COLLAB_MASTER_KEY: '', COLLAB_MASTER_KEY_FILE: '' } }), /exited \(1\)[\s\S]*ERR_MASTER_KEY_REQUIRED/)
    assert.deepEqual(hashFiles(server.dataDir), before)
    const reopened = await startServer({ dataDir: server.dataDir, masterKey })
    try {
      const reader = await reopened.connect('proposal/p-locked')
      await reader.whenSynced()
      assert.equal(readTextField(reader.doc, 'proposal', 'title'), TITLE)
      reader.destroy()
    } finally {
      await reopened.stop()
    }
  } finally {
    const { rm } = await import('node:fs/promises')
    await rm(server.dataDir, { recursive: true, force: true })
  }
})

test('a master key for a store that already holds plain data is refused', async () => {
  const dir = await tempDir('posalpro-at-rest-')
  try {
    const plain = await DocumentStore.open(dir.path)
    await plain.appendBatch('acme/proposal/p-1', { update: titleUpdate('plain') })
    await plain.close()
    await assert.rejects(DocumentStore.open(dir.path, { atRest: { masterKey: Buffer.from(newMasterKey(), 'base64') } }), expectCode(ErrorCode.StoreNotEncrypted))
    const again = await DocumentStore.open(dir.path)
    assert.equal((await again.loadUpdates('acme/proposal/p-1')).length, 1)
    await again.close()
  } finally {
    await dir.remove()
  }
})

const titleUpdate = (title: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getMap('meta').set('title', title)
  return Y.encodeStateAsUpdate(doc)
}

const event = (seq: number, update: Uint8Array): EventRecord => ({
  seq,
  at: Date.now(),
  userId: 'alice',
  device: null,
  outcome: 'accepted',
  applied: true,
  ruleIds: [],
  paths: ['meta.title'],
  update,
})

/** Copies one stored value to another key, byte for byte, in the LevelDB itself (the server stopped). */
const copyRecord = async (location: string, from: Array<string | number>, to: Array<string | number>): Promise<void> => {
  const persistence = new LeveldbPersistence(location)
  await persistence._transact(async (db) => {
    const [value] = (await (db as unknown as { getMany(keys: unknown[]): Promise<Uint8Array[]> }).getMany([from]))
    assert.ok(value, `nothing stored at ${from.join(' ')}`)
    await (db as unknown as { put(key: unknown, value: Uint8Array): Promise<void> }).put(to, value)
  })
  await persistence.destroy()
}

test('a record copied to another document, tenant, kind or position fails to open with ERR_RECORD_NOT_AUTHENTIC', async () => {
  const dir = await tempDir('posalpro-at-rest-')
  const atRest = { masterKey: Buffer.from(newMasterKey(), 'base64') }
  try {
    const store = await DocumentStore.open(dir.path, { atRest })
    for (const name of ['acme/proposal/a', 'acme/proposal/b', 'other/proposal/a']) {
      await store.appendBatch(name, { update: titleUpdate(name), events: [event(1, titleUpdate(name))] })
      await store.appendBatch(name, { update: titleUpdate(`${name} again`), events: [event(2, titleUpdate(`${name} again`))] })
    }
    await store.close()
    const moves: Array<{ from: Array<string | number>; to: Array<string | number>; read(store: DocumentStore): Promise<unknown> }> = [
      // another document of the tenant
      { from: ['v1', 'acme/proposal/a', 'update', 0], to: ['v1', 'acme/proposal/b', 'update', 0], read: (s) => s.loadUpdates('acme/proposal/b') },
      // another tenant
      { from: ['v1', 'acme/proposal/a', 'update', 1], to: ['v1', 'other/proposal/a', 'update', 1], read: (s) => s.loadUpdates('other/proposal/a') },
      // another position (an older update replayed as a newer one)
      { from: ['v1', 'acme/proposal/a', 'update', 0], to: ['v1', 'acme/proposal/a', 'update', 1], read: (s) => s.loadUpdates('acme/proposal/a') },
      // another kind (an update passed off as an event)
      { from: ['v1', 'acme/proposal/b', 'update', 1], to: ['posalpro_events', 'acme/proposal/b', 1], read: (s) => s.readEvents('acme/proposal/b') },
    ]
    for (const move of moves) {
      await copyRecord(dir.path, move.from, move.to)
      const reopened = await DocumentStore.open(dir.path, { atRest })
      try {
        await assert.rejects(move.read(reopened), expectCode(ErrorCode.RecordNotAuthentic), `${move.from.join(' ')} → ${move.to.join(' ')}`)
      } finally {
        await reopened.close()
      }
    }
  } finally {
    await dir.remove()
  }
})
