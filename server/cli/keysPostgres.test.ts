import assert from 'node:assert/strict'
import { writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { startPostgres } from '../../shared/testing/postgresInstance.ts'
import type { KeyStatus, ReencryptionStatus } from '../admin/keyAdministration.ts'
import { adminCli } from '../testing/adminCli.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { newMasterKey } from '../testing/atRestFiles.ts'
import { startServer } from '../testing/startServer.ts'

test('PostgreSQL, two servers on one database: rotation through one node\'s admin API, re-encryption through the other\'s while stock clients type on both; then the offline CLI rotates and re-encrypts beside the running servers', async (t) => {
  const postgres = await startPostgres()
  t.after(() => postgres.stop())
  const masterKey = newMasterKey()
  const nodes = [await startServer({ postgresUrl: postgres.url, masterKey }), await startServer({ postgresUrl: postgres.url, masterKey })]
  t.after(async () => {
    for (const node of nodes) await node.dispose()
  })
  const [one, two] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
  const writers = [await one.connect('proposal/k-1'), await two.connect('proposal/k-2')]
  t.after(() => writers.forEach((writer) => writer.destroy()))
  await Promise.all(writers.map((writer) => writer.whenSynced()))
  // Each change replaces the title (the schema caps it at 200 characters): the last one typed must be what is stored.
  const last = ['', '']
  let typing = true
  const typists = writers.map(async (writer, index) => {
    const title = writer.doc.getText('title')
    for (let i = 0; typing; i++) {
      writer.doc.transact(() => {
        title.delete(0, title.length)
        title.insert(0, `node ${index} change ${i}`)
      })
      last[index] = `node ${index} change ${i}`
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })
  const admins = await Promise.all(nodes.map((node) => node.token({ role: 'admin' })))
  try {
    await eventually(async () => assert.ok((await one.server.store.loadUpdates(`${one.tenant}/proposal/k-1`)).length > 3, 'the typing reached the store'))
    const rotated = await adminRequest<{ keyId: number }>(one, admins[0]!, 'POST', '/keys/rotate')
    assert.deepEqual([rotated.status, rotated.body.keyId], [200, 2])
    const started = await adminRequest<ReencryptionStatus>(two, admins[1]!, 'POST', '/keys/re-encrypt')
    assert.equal(started.status, 202)
    await eventually(async () => {
      const { body } = await adminRequest<ReencryptionStatus>(two, admins[1]!, 'GET', '/keys/re-encrypt')
      assert.equal(body.error, null)
      assert.ok(body.done, JSON.stringify(body))
    }, { timeoutMs: 60_000 })
    const status = await adminRequest<KeyStatus>(one, admins[0]!, 'GET', '/keys/status')
    assert.deepEqual(status.body.dataKeys, [2])
    assert.equal(status.body.masterKey?.rotated, true)

    // The offline CLI on the same database while both servers keep writing.
    const keyFile = join(tmpdir(), `posalpro-keys-pg-${process.pid}.key`)
    t.after(() => rm(keyFile, { force: true }))
    await writeFile(keyFile, `${masterKey}\n`, { mode: 0o600 })
    const offline = ['--postgres-url', postgres.url, '--tenant', one.tenant, '--master-key-file', keyFile]
    const rotatedOffline = await adminCli([...offline, 'keys', 'rotate'])
    assert.equal(rotatedOffline.code, 0, rotatedOffline.stderr)
    assert.match(rotatedOffline.stdout, /data key #3/)
    const reencrypted = await adminCli([...offline, 'keys', 're-encrypt'])
    assert.equal(reencrypted.code, 0, reencrypted.stderr)
    assert.match(reencrypted.stderr, /records, \d+ rewritten/)
    assert.match(reencrypted.stdout, /rewritten under the current data key; older keys retired/)
    const shown = await adminCli([...offline, 'keys', 'status'])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, /data keys #3\n/)
  } finally {
    typing = false
    await Promise.all(typists)
  }
  // The last change typed on each node is stored (read without loading the document on the other
  // node first: two servers without Redis take a document from each other), then a reader on the
  // other node sees it.
  for (const [index, node] of nodes.entries()) {
    await eventually(async () => assert.equal((await node.server.store.loadDoc(`${node.tenant}/proposal/k-${index + 1}`)).doc.getText('title').toString(), last[index]))
  }
  writers.forEach((writer) => writer.destroy())
  for (const [index, node] of [two, one].entries()) {
    const reader = await node.connect(`proposal/k-${index + 1}`)
    t.after(() => reader.destroy())
    await eventually(() => assert.equal(reader.doc.getText('title').toString(), last[index]))
  }
})
