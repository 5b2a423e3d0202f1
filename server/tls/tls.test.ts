import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectRawPeer } from '../../shared/testing/rawPeer.ts'
import { connectStockClient } from '../../shared/testing/stockClient.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DEFAULT_CONFIG, loadConfig } from '../config.ts'
import { startCollabServer } from '../collabServer.ts'
import { createLogger } from '../observability/logger.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { HSTS_VALUE } from './hsts.ts'
import { isLoopbackHost, warnIfPlainOnNetwork } from './plainBindWarning.ts'
import { createTestCa, type IssuedCert, type TestCa } from './testing/testPki.ts'
import { devTokenFor, httpsGet, tlsWebSocketClass } from './testing/tlsClients.ts'

let pki: Awaited<ReturnType<typeof tempDir>>
let ca: TestCa
let serverCert: IssuedCert

before(async () => {
  pki = await tempDir('posalpro-pki-')
  ca = await createTestCa(pki.path, 'test-ca')
  serverCert = await ca.serverCert('server')
})
after(() => pki.remove())

const tlsServer = (overrides: Parameters<typeof startServer>[0] = {}): Promise<TestServer> =>
  startServer({ tlsCert: serverCert.certFile, tlsKey: serverCert.keyFile, ...overrides })

describe('TLS termination', () => {
  test('a stock y-websocket client syncs over wss; https answers and the upgrade carry HSTS', async () => {
    const server = await tlsServer()
    try {
      assert.match(server.url, /^wss:\/\//)
      const token = await devTokenFor(server.dataDir)
      const WebSocketPolyfill = tlsWebSocketClass({ ca: ca.certPem })
      const writer = connectStockClient(server.url, 'proposal/tls-1', { params: { token }, WebSocketPolyfill })
      const reader = connectStockClient(server.url, 'proposal/tls-1', { params: { token: await devTokenFor(server.dataDir, { user: 'bob' }) }, WebSocketPolyfill })
      try {
        await Promise.all([writer.whenSynced(), reader.whenSynced()])
        writer.doc.getMap('meta').set('title', 'over TLS')
        await eventually(() => assert.equal(reader.doc.getMap('meta').get('title'), 'over TLS'))
      } finally {
        writer.destroy()
        reader.destroy()
      }

      const health = await httpsGet(`${server.httpUrl}/healthz`, { ca: ca.certPem })
      assert.equal(health.status, 200)
      assert.equal(health.headers['strict-transport-security'], HSTS_VALUE)
      assert.equal(health.serverCert.serialNumber, serverCert.serial)
      const missing = await httpsGet(`${server.httpUrl}/no-such-route`, { ca: ca.certPem })
      assert.equal(missing.status, 404)
      assert.equal(missing.headers['strict-transport-security'], HSTS_VALUE)

      // The 101 of an accepted upgrade, and the JSON answer of a refused one.
      const upgradeHeaders = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const raw = new (tlsWebSocketClass({ ca: ca.certPem }))(`${server.url}/proposal/tls-1?token=${token}`)
        let headers: Record<string, unknown> = {}
        raw.on('upgrade', (response) => (headers = response.headers))
        raw.on('open', () => {
          raw.close()
          resolve(headers)
        })
        raw.on('error', reject)
      })
      assert.equal(upgradeHeaders['strict-transport-security'], HSTS_VALUE)
      const refused = await httpsGet(`${server.httpUrl}/proposal/tls-1`, { ca: ca.certPem }, { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' })
      assert.equal(refused.status, 401)
      assert.equal(JSON.parse(refused.body).error.code, ErrorCode.TokenMissing)
      assert.equal(refused.headers['strict-transport-security'], HSTS_VALUE)
    } finally {
      await server.dispose()
    }
  })

  test('plain http carries no HSTS (it would mean nothing there)', async () => {
    const server = await startServer()
    try {
      const response = await fetch(`${server.httpUrl}/healthz`)
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('strict-transport-security'), null)
    } finally {
      await server.dispose()
    }
  })

  test('TLS 1.3 is the minimum by default: a TLS 1.2-only client is refused; --tls-min-version 1.2 admits it', async () => {
    const strict = await tlsServer()
    try {
      await assert.rejects(httpsGet(`${strict.httpUrl}/healthz`, { ca: ca.certPem, maxVersion: 'TLSv1.2' }), /protocol version|EPROTO/i)
      assert.equal((await httpsGet(`${strict.httpUrl}/healthz`, { ca: ca.certPem })).status, 200)
    } finally {
      await strict.dispose()
    }
    const lenient = await tlsServer({ tlsMinVersion: '1.2' })
    try {
      const token = await devTokenFor(lenient.dataDir)
      const client = connectStockClient(lenient.url, 'proposal/tls12', {
        params: { token },
        WebSocketPolyfill: tlsWebSocketClass({ ca: ca.certPem, maxVersion: 'TLSv1.2' }),
      })
      try {
        await client.whenSynced()
      } finally {
        client.destroy()
      }
    } finally {
      await lenient.dispose()
    }
  })

  test('a client that does not trust the server certificate cannot connect', async () => {
    const server = await tlsServer()
    try {
      const other = await createTestCa(pki.path, 'untrusted-ca')
      await assert.rejects(httpsGet(`${server.httpUrl}/healthz`, { ca: other.certPem }), /self[- ]signed|unable to verify|UNABLE_TO/i)
    } finally {
      await server.dispose()
    }
  })

  test('an authenticated wss connection no longer counts as unauthenticated (it is not evicted by later requests)', async () => {
    const server = await tlsServer({ maxUnauthenticatedPerAddress: 1 })
    try {
      const token = await devTokenFor(server.dataDir)
      const peer = await connectRawPeer(`${server.url}/proposal/evict?token=${token}`, { ca: ca.certPem })
      let closedEarly = false
      void peer.closed.then(() => (closedEarly = true))
      for (let i = 0; i < 3; i++) assert.equal((await httpsGet(`${server.httpUrl}/healthz`, { ca: ca.certPem })).status, 200)
      await eventually(() => assert.equal(server.server.peers.size, 1))
      assert.equal(closedEarly, false)
      peer.close()
    } finally {
      await server.dispose()
    }
  })

  test('unreadable or mismatched certificate files stop the start with ERR_BAD_CONFIG naming the file', async () => {
    const data = await tempDir('posalpro-tls-bad-')
    const logger = createLogger('silent')
    const base = { ...DEFAULT_CONFIG, port: 0, devMode: true, dataDir: data.path }
    try {
      const missing = path.join(pki.path, 'missing.crt')
      await assert.rejects(startCollabServer({ ...base, tlsCert: missing, tlsKey: serverCert.keyFile }, logger), (error: { code?: string; message: string }) => {
        assert.equal(error.code, ErrorCode.BadConfig)
        assert.match(error.message, /missing\.crt/)
        return true
      })
      const otherKey = (await ca.clientCert('stray', 'x')).keyFile
      await assert.rejects(startCollabServer({ ...base, tlsCert: serverCert.certFile, tlsKey: otherKey }, logger), (error: { code?: string; message: string }) => {
        assert.equal(error.code, ErrorCode.BadConfig)
        assert.match(error.message, /does not belong to the certificate/)
        return true
      })
      const garbage = path.join(pki.path, 'garbage.crt')
      await writeFile(garbage, '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n')
      await assert.rejects(startCollabServer({ ...base, tlsCert: garbage, tlsKey: serverCert.keyFile }, logger), { code: ErrorCode.BadConfig })
    } finally {
      await data.remove()
    }
  })

  test('TLS options are parsed strictly', () => {
    const key = ['--dev']
    assert.throws(() => loadConfig([...key, '--tls-cert', 'a.pem']), /tls-cert and tls-key go together/)
    assert.throws(() => loadConfig([...key, '--tls-min-version', '1.1']), /must be one of 1\.3, 1\.2/)
    assert.throws(() => loadConfig(key, { COLLAB_TLS_MIN_VERSION: 'TLSv1.2' }), /must be one of/)
    assert.throws(() => loadConfig([...key, '--tls-client-ca', 'ca.pem']), /tls-client-ca needs TLS/)
    assert.throws(() => loadConfig([...key, '--tls-cert', 'a', '--tls-key', 'b', '--tls-crl', 'c']), /needs tls-client-ca/)
    const config = loadConfig(key, { COLLAB_TLS_CERT: 'a.pem', COLLAB_TLS_KEY: 'b.pem', COLLAB_TLS_MIN_VERSION: '1.2' })
    assert.equal(config.tlsCert, path.resolve('a.pem'))
    assert.equal(config.tlsMinVersion, '1.2')
    assert.equal(loadConfig(key).tlsMinVersion, '1.3')
  })

  test('a non-loopback bind without TLS logs a warning; loopback or TLS does not', () => {
    const warnings: string[] = []
    const logger = { warn: (_fields: unknown, message: string) => warnings.push(message) } as unknown as Parameters<typeof warnIfPlainOnNetwork>[2]
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackHost(host), true, host)
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'collab.example.com']) assert.equal(isLoopbackHost(host), false, host)
    warnIfPlainOnNetwork('127.0.0.1', false, logger)
    warnIfPlainOnNetwork('0.0.0.0', true, logger)
    assert.deepEqual(warnings, [])
    warnIfPlainOnNetwork('0.0.0.0', false, logger)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /without TLS/)
  })
})
