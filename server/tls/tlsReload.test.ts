import assert from 'node:assert/strict'
import { copyFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import { connectStockClient } from '../../shared/testing/stockClient.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { createTestCa } from './testing/testPki.ts'
import { devTokenFor, httpsGet, tlsWebSocketClass } from './testing/tlsClients.ts'

test('SIGHUP reloads the certificate: new connections see the new one, a connected client stays; a bad file keeps the old one', async () => {
  const dir = await tempDir('posalpro-tls-reload-')
  const ca = await createTestCa(dir.path, 'reload-ca')
  const first = await ca.serverCert('first')
  const second = await ca.serverCert('second')
  assert.notEqual(first.fingerprint256, second.fingerprint256)
  const certFile = path.join(dir.path, 'live.crt')
  const keyFile = path.join(dir.path, 'live.key')
  await copyFile(first.certFile, certFile)
  await copyFile(first.keyFile, keyFile)
  const dataDir = path.join(dir.path, 'data')
  const server = await spawnServer({ dataDir, args: ['--tls-cert', certFile, '--tls-key', keyFile] })
  const httpsUrl = `https://127.0.0.1:${server.port}`
  const wssUrl = `wss://127.0.0.1:${server.port}`
  const WebSocketPolyfill = tlsWebSocketClass({ ca: ca.certPem })
  const clients: Array<ReturnType<typeof connectStockClient>> = []
  try {
    assert.equal((await httpsGet(`${httpsUrl}/healthz`, { ca: ca.certPem })).serverCert.fingerprint256, first.fingerprint256)
    const stayer = connectStockClient(wssUrl, 'proposal/reload', { params: { token: await devTokenFor(dataDir) }, WebSocketPolyfill })
    clients.push(stayer)
    await stayer.whenSynced()
    const socketBefore = stayer.provider.ws

    await copyFile(second.certFile, certFile)
    await copyFile(second.keyFile, keyFile)
    server.child.kill('SIGHUP')
    await eventually(async () => {
      const answer = await httpsGet(`${httpsUrl}/healthz`, { ca: ca.certPem })
      assert.equal(answer.serverCert.fingerprint256, second.fingerprint256)
      assert.equal(answer.serverCert.serialNumber, second.serial)
    })
    assert.ok(server.logs.some((line) => line.includes('TLS certificate reloaded')), 'the reload was logged')

    // The connected client kept its connection (same socket) and still syncs with a newcomer.
    const newcomer = connectStockClient(wssUrl, 'proposal/reload', { params: { token: await devTokenFor(dataDir, { user: 'bob' }) }, WebSocketPolyfill })
    clients.push(newcomer)
    await newcomer.whenSynced()
    stayer.doc.getMap('meta').set('title', 'after reload')
    await eventually(() => assert.equal(newcomer.doc.getMap('meta').get('title'), 'after reload'))
    assert.equal(stayer.provider.ws, socketBefore)

    // A broken certificate file: the reload is refused and logged, the second certificate stays.
    await writeFile(certFile, 'not a certificate\n')
    server.child.kill('SIGHUP')
    await eventually(() => assert.ok(server.logs.some((line) => line.includes('TLS reload failed')), 'the failed reload was logged'))
    assert.equal((await httpsGet(`${httpsUrl}/healthz`, { ca: ca.certPem })).serverCert.fingerprint256, second.fingerprint256)
    assert.equal(server.child.exitCode, null)
  } finally {
    for (const client of clients) client.destroy()
    assert.equal(await server.stop(), 0)
    await dir.remove()
  }
})
