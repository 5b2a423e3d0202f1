import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { LeveldbPersistence } from 'y-leveldb'
import { eventually } from '../../shared/testing/eventually.ts'
import { readTextField } from '../../shared/documentModel.ts'
import { readKeyringFile } from '../crypto/keyringFile.ts'
import { RecordCodec } from '../crypto/recordCodec.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { newMasterKey } from '../testing/atRestFiles.ts'
import { startServer } from '../testing/startServer.ts'
import type { ReencryptionStatus } from '../admin/keyAdministration.ts'

/** The data key id of every stored value (keyring and bookkeeping aside), straight from LevelDB. */
const keyIdsOnDisk = async (location: string): Promise<Map<number | null, number>> => {
  const counts = new Map<number | null, number>()
  const keyIdOf = RecordCodec.prototype.keyIdOf
  const persistence = new LeveldbPersistence(location)
  await persistence._transact(async (db) => {
    const entries = await (db as unknown as { iterator(o: object): { all(): Promise<Array<[unknown[], Uint8Array]>> } }).iterator({}).all()
    for (const [key, value] of entries) {
      if (key[0] === 'posalpro_meta') continue
      const id = keyIdOf.call(null as never, value)
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
  })
  await persistence.destroy()
  return counts
}

test('rotation and re-encryption under live load: a stock client writing throughout loses nothing, and no record is left under the old key', async () => {
  const masterKey = newMasterKey()
  const server = await startServer({ masterKey })
  const admin = await server.token({ role: 'admin' })
  const writer = await server.connect('proposal/p-live')
  const others = await Promise.all(['proposal/p-2', 'customer/c-2', 'content/k-2'].map((room) => server.connect(room)))
  try {
    await Promise.all([writer.whenSynced(), ...others.map((client) => client.whenSynced())])
    for (const [index, other] of others.entries()) other.doc.getText(index === 1 ? 'name' : 'title').insert(0, `before rotation ${index}`)
    const typed: string[] = []
    const type = (word: string) => {
      typed.push(word)
      writer.doc.getXmlFragment('body')
      writer.doc.getText('title').insert(writer.doc.getText('title').length, word)
    }
    for (let i = 0; i < 20; i++) type(`a${i} `)
    await eventually(async () => assert.ok((await server.server.store.loadUpdates(`${server.tenant}/proposal/p-live`)).length > 0, 'first writes stored'))

    // Keep typing while the key rotates and the older records are rewritten.
    let typing = true
    const typist = (async () => {
      for (let i = 0; typing; i++) {
        type(`b${i} `)
        await new Promise((resolve) => setImmediate(resolve))
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })()
    const rotated = await adminRequest<{ keyId: number }>(server, admin, 'POST', '/keys/rotate')
    assert.equal(rotated.status, 200)
    assert.equal(rotated.body.keyId, 2)
    const started = await adminRequest<ReencryptionStatus>(server, admin, 'POST', '/keys/re-encrypt')
    assert.equal(started.status, 202)
    await eventually(async () => {
      const { body } = await adminRequest<ReencryptionStatus>(server, admin, 'GET', '/keys/re-encrypt')
      assert.equal(body.error, null)
      assert.ok(body.done, `re-encryption done: ${JSON.stringify(body)}`)
    }, { timeoutMs: 60_000 })
    typing = false
    await typist
    const expected = typed.join('')
    await eventually(async () => assert.equal(readTextField((await server.server.store.loadDoc(`${server.tenant}/proposal/p-live`)).doc, 'proposal', 'title'), expected))
  } finally {
    writer.destroy()
    for (const other of others) other.destroy()
    await server.stop()
  }
  try {
    const keyring = readKeyringFile(server.dataDir)!
    assert.deepEqual(
      keyring.dataKeys.filter((key) => key.tenant === server.tenant).map((key) => key.id),
      [2],
      'the old key is retired',
    )
    const ids = await keyIdsOnDisk(server.dataDir)
    assert.deepEqual([...ids.keys()], [2], `records by data key id: ${JSON.stringify([...ids])}`)
    const restarted = await startServer({ dataDir: server.dataDir, masterKey })
    try {
      const reader = await restarted.connect('proposal/p-live')
      await reader.whenSynced()
      assert.match(readTextField(reader.doc, 'proposal', 'title'), /^a0 a1 .* b0 b1 /)
      reader.destroy()
    } finally {
      await restarted.stop()
    }
  } finally {
    await rm(server.dataDir, { recursive: true, force: true })
  }
})
