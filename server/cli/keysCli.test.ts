import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { readKeyringFile } from '../crypto/keyringFile.ts'
import { adminCli } from '../testing/adminCli.ts'
import { filesContaining, hashFiles, newMasterKey } from '../testing/atRestFiles.ts'
import { startServer } from '../testing/startServer.ts'

const TITLE = 'Ouagadougou Solar Farm Tender'

test('the CLI offline on an encrypted data directory: refused without the key, sealed exports, rotation and re-encryption with progress', async () => {
  const masterKey = newMasterKey()
  const server = await startServer({ masterKey })
  const client = await server.connect('proposal/p-cli')
  await client.whenSynced()
  client.doc.getText('title').insert(0, TITLE)
  await eventually(async () => assert.ok((await server.server.store.loadUpdates(`${server.tenant}/proposal/p-cli`)).length > 0, 'stored'))
  client.destroy()
  await server.stop()
  const dir = server.dataDir
  const keyFile = join(dir, '..', `${dir.split('/').at(-1)}-master.key`)
  await writeFile(keyFile, `${masterKey}\n`, { mode: 0o600 })
  const offline = ['--data-dir', dir, '--tenant', server.tenant]
  try {
    const before = hashFiles(dir)
    const refused = await adminCli([...offline, 'docs', 'list'], { COLLAB_MASTER_KEY_FILE: '', COLLAB_MASTER_KEY: '' })
    assert.equal(refused.code, 1, refused.stderr)
    assert.match(refused.stderr, /ERR_MASTER_KEY_REQUIRED/)
    const wrong = await adminCli([...offline, 'docs', 'list'], { COLLAB_MASTER_KEY: newMasterKey() })
    assert.equal(wrong.code, 1, wrong.stderr)
    assert.match(wrong.stderr, /ERR_WRONG_MASTER_KEY/)
    assert.deepEqual(hashFiles(dir), before)

    const withKey = [...offline, '--master-key-file', keyFile]
    const exportFile = join(dir, 'backup-p-cli.json')
    const exported = await adminCli([...withKey, 'docs', 'export', 'proposal/p-cli', '-o', exportFile])
    assert.equal(exported.code, 0, exported.stderr)
    assert.deepEqual(filesContaining(dir, TITLE), [], 'the export is sealed like the store')

    const rotated = await adminCli([...withKey, 'keys', 'rotate'])
    assert.equal(rotated.code, 0, rotated.stderr)
    assert.match(rotated.stdout, /data key #2/)
    const reencrypted = await adminCli([...withKey, 'keys', 're-encrypt'])
    assert.equal(reencrypted.code, 0, reencrypted.stderr)
    assert.match(reencrypted.stderr, /\[#+\]|records/)
    assert.deepEqual(
      readKeyringFile(dir)!.dataKeys.filter((key) => key.tenant === server.tenant).map((key) => key.id),
      [2],
    )
    const imported = await adminCli([...withKey, 'docs', 'import', exportFile, '--as', 'proposal/p-copy'])
    assert.equal(imported.code, 0, imported.stderr)
    const shown = await adminCli([...withKey, '--json', 'docs', 'show', 'proposal/p-copy'])
    assert.equal(shown.code, 0, shown.stderr)
    assert.ok(shown.stdout.includes(TITLE), shown.stdout)
    assert.deepEqual(filesContaining(dir, TITLE), [])

    const newKeyFile = `${keyFile}.new`
    await writeFile(newKeyFile, newMasterKey(), { mode: 0o600 })
    const rewrapped = await adminCli([...withKey, 'keys', 'rotate', '--new-master-key-file', newKeyFile])
    assert.equal(rewrapped.code, 0, rewrapped.stderr)
    const oldKeyNow = await adminCli([...withKey, 'docs', 'list'])
    assert.match(oldKeyNow.stderr, /ERR_WRONG_MASTER_KEY/)
    const newKeyNow = await adminCli([...offline, '--master-key-file', newKeyFile, '--json', 'docs', 'show', 'proposal/p-cli'])
    assert.equal(newKeyNow.code, 0, newKeyNow.stderr)
    assert.ok(newKeyNow.stdout.includes(TITLE), newKeyNow.stdout.slice(0, 500))
  } finally {
    await rm(dir, { recursive: true, force: true })
    await rm(keyFile, { force: true })
    await rm(`${keyFile}.new`, { force: true })
  }
})
