import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import type { KeyStatus } from '../admin/keyAdministration.ts'
import { newMasterKey } from '../testing/atRestFiles.ts'
import { Keyring } from './keyring.ts'
import { KEYRING_FILE, readKeyringFile } from './keyringFile.ts'

/** Online master-key rotation on LevelDB, through the real process and a real SIGHUP. */

test('master-key rotation online on LevelDB: SIGHUP re-wraps under the file\'s first key while clients write; a wrong key is refused and changes nothing; afterwards only the new key opens', async () => {
  const dir = await tempDir('posalpro-master-')
  const dataDir = join(dir.path, 'data')
  await mkdir(dataDir)
  const keyFile = join(dir.path, 'master.key')
  const [k1, k2, k3] = [newMasterKey(), newMasterKey(), newMasterKey()]
  const env = { COLLAB_MASTER_KEY_FILE: keyFile, COLLAB_MASTER_KEY: '' }
  await writeFile(keyFile, `${k1}\n`, { mode: 0o600 })
  const server = await spawnServer({ dataDir, env })
  const clients: Array<{ destroy(): void }> = []
  try {
    const admin = await server.token({ role: 'admin' })
    const status = async (): Promise<KeyStatus> => {
      const response = await fetch(`${server.httpUrl}/admin/keys/status`, { headers: { authorization: `Bearer ${admin}` } })
      assert.equal(response.status, 200)
      return (await response.json()) as KeyStatus
    }
    const writer = await server.connect('proposal/m-1')
    const reader = await server.connect('proposal/m-1')
    clients.push(writer, reader)
    await Promise.all([writer.whenSynced(), reader.whenSynced()])
    const title = writer.doc.getText('title')
    const type = async (text: string) => {
      title.insert(title.length, text)
      await eventually(() => assert.equal(reader.doc.getText('title').toString(), title.toString()))
    }
    await type('before ')
    assert.equal((await status()).masterKey?.wrappedUnder, Keyring.fingerprint(Buffer.from(k1, 'base64')))

    // The operator puts the new key first (the old one kept after it) and sends SIGHUP.
    await writeFile(keyFile, `${k2}\n${k1}\n`)
    server.child.kill('SIGHUP')
    await eventually(async () => {
      const { masterKey } = await status()
      assert.deepEqual(masterKey, { fileKeys: [k2, k1].map((key) => Keyring.fingerprint(Buffer.from(key, 'base64'))), wrappedUnder: Keyring.fingerprint(Buffer.from(k2, 'base64')), rotated: true })
    })
    assert.ok(Keyring.opensCanary(Buffer.from(k2, 'base64'), readKeyringFile(dataDir)!), 'the keyring file is wrapped under the new key')
    await type('after ')

    // A file holding only a key that opens nothing: refused, nothing written, the server runs on.
    const keyringBefore = readFileSync(join(dataDir, KEYRING_FILE))
    await writeFile(keyFile, `${k3}\n`)
    server.child.kill('SIGHUP')
    await eventually(() => assert.ok(server.logs.some((line) => line.includes('ERR_WRONG_MASTER_KEY')), 'the refusal is logged'))
    assert.deepEqual(readFileSync(join(dataDir, KEYRING_FILE)), keyringBefore)
    await type('still ')
    const late = await server.connect('proposal/m-1')
    clients.push(late)
    await late.whenSynced()
    assert.equal(late.doc.getText('title').toString(), 'before after still ')
    for (const client of clients.splice(0)) client.destroy()
    assert.equal(await server.stop(), 0)

    // The old key alone no longer opens the store; the new one alone opens everything.
    await writeFile(keyFile, `${k1}\n`)
    await assert.rejects(spawnServer({ dataDir, env }), /ERR_WRONG_MASTER_KEY/)
    await writeFile(keyFile, `${k2}\n`)
    const restarted = await spawnServer({ dataDir, env })
    try {
      const again = await restarted.connect('proposal/m-1')
      await again.whenSynced()
      assert.equal(again.doc.getText('title').toString(), 'before after still ')
      again.destroy()
    } finally {
      await restarted.stop()
    }
  } finally {
    for (const client of clients) client.destroy()
    await server.stop()
    await dir.remove()
  }
})

test('a master key file listing the new key first opens a store still wrapped under the old one and re-wraps it at start', async () => {
  const dir = await tempDir('posalpro-master-')
  const dataDir = join(dir.path, 'data')
  await mkdir(dataDir)
  const keyFile = join(dir.path, 'master.key')
  const [k1, k2] = [newMasterKey(), newMasterKey()]
  const env = { COLLAB_MASTER_KEY_FILE: keyFile, COLLAB_MASTER_KEY: '' }
  try {
    await writeFile(keyFile, `${k1}\n`, { mode: 0o600 })
    const first = await spawnServer({ dataDir, env })
    const client = await first.connect('proposal/m-2')
    await client.whenSynced()
    client.doc.getText('title').insert(0, 'kept')
    const witness = await first.connect('proposal/m-2')
    await eventually(() => assert.equal(witness.doc.getText('title').toString(), 'kept'))
    client.destroy()
    witness.destroy()
    assert.equal(await first.stop(), 0)
    await writeFile(keyFile, `# rotation in progress: newest first\n${k2}\n\n${k1}\n`)
    const second = await spawnServer({ dataDir, env })
    assert.ok(Keyring.opensCanary(Buffer.from(k2, 'base64'), readKeyringFile(dataDir)!), 're-wrapped at start')
    const reader = await second.connect('proposal/m-2')
    await reader.whenSynced()
    assert.equal(reader.doc.getText('title').toString(), 'kept')
    reader.destroy()
    assert.equal(await second.stop(), 0)
  } finally {
    await dir.remove()
  }
})
