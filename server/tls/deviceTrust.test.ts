import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectRawPeer } from '../../shared/testing/rawPeer.ts'
import { connectStockClient } from '../../shared/testing/stockClient.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { createTestCa, type IssuedCert, type TestCa } from './testing/testPki.ts'
import { devTokenFor, httpsGet, tlsWebSocketClass, type ClientTls } from './testing/tlsClients.ts'

/**
 * Mutual TLS: the server's certificate comes from one CA, the devices' from another (the client
 * CA); a third CA stands for anyone else's. Every refusal is an HTTP answer with its own code.
 */
let pki: Awaited<ReturnType<typeof tempDir>>
let serverCa: TestCa
let deviceCa: TestCa
let good: IssuedCert
let revoked: IssuedCert
let foreign: IssuedCert
let nameless: IssuedCert
let server: TestServer
let crlFile: string

before(async () => {
  pki = await tempDir('posalpro-mtls-')
  serverCa = await createTestCa(pki.path, 'server-ca')
  deviceCa = await createTestCa(pki.path, 'device-ca')
  const otherCa = await createTestCa(pki.path, 'other-ca')
  const serverCert = await serverCa.serverCert('server')
  good = await deviceCa.clientCert('laptop-1', 'laptop-1')
  revoked = await deviceCa.clientCert('laptop-2', 'laptop-2')
  nameless = await deviceCa.clientCert('nameless', null)
  // Same device name, wrong issuer: the name alone must not be enough.
  foreign = await otherCa.clientCert('impostor', 'laptop-1')
  crlFile = await deviceCa.crl([revoked])
  server = await startServer({
    tlsCert: serverCert.certFile,
    tlsKey: serverCert.keyFile,
    tlsClientCa: deviceCa.certFile,
    tlsCrl: crlFile,
  })
})
after(async () => {
  await server?.dispose()
  await pki?.remove()
})

const withCert = (cert?: IssuedCert): ClientTls => ({ ca: serverCa.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) })

/** The refusal of an upgrade: its status and error code. */
const refusal = async (cert: IssuedCert | undefined, token: string | null): Promise<{ status: number; code: string }> => {
  const query = token === null ? '' : `?token=${token}`
  try {
    const peer = await connectRawPeer(`${server.url}/proposal/mtls${query}`, withCert(cert))
    peer.close()
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string }
    if (status === undefined) throw error
    return { status, code: (JSON.parse(body ?? '{}') as { error: { code: string } }).error.code }
  }
  throw new Error('the upgrade was accepted')
}

/** A TLS session ticket of a fresh connection (TLS 1.3 sends it after the handshake). */
const tlsSession = (options: ClientTls): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.server.port, ...options })
    socket.once('session', (session: Buffer) => {
      resolve(session)
      socket.end()
    })
    socket.on('error', reject)
  })

/** Whether a new connection offering `session` was resumed from it. */
const tlsSessionReused = (options: ClientTls, session: Buffer): Promise<boolean> =>
  new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.server.port, ...options, session }, () => {
      resolve(socket.isSessionReused())
      socket.end()
    })
    socket.on('error', reject)
  })

describe('device trust (mutual TLS)', () => {
  test('no client certificate: 401 ERR_CLIENT_CERT_MISSING, before the token is looked at', async () => {
    assert.deepEqual(await refusal(undefined, await devTokenFor(server.dataDir, { device: 'laptop-1' })), { status: 401, code: ErrorCode.ClientCertMissing })
    assert.deepEqual(await refusal(undefined, null), { status: 401, code: ErrorCode.ClientCertMissing })
  })

  test("another CA's certificate (naming the same device): 401 ERR_CLIENT_CERT_UNTRUSTED", async () => {
    assert.deepEqual(await refusal(foreign, await devTokenFor(server.dataDir, { device: 'laptop-1' })), { status: 401, code: ErrorCode.ClientCertUntrusted })
  })

  test('a revoked certificate: 401 ERR_CLIENT_CERT_REVOKED', async () => {
    assert.deepEqual(await refusal(revoked, await devTokenFor(server.dataDir, { device: 'laptop-2' })), { status: 401, code: ErrorCode.ClientCertRevoked })
  })

  test("a token for another device, or for none, or a certificate naming none: 403 ERR_DEVICE_MISMATCH", async () => {
    assert.deepEqual(await refusal(good, await devTokenFor(server.dataDir, { device: 'laptop-9' })), { status: 403, code: ErrorCode.DeviceMismatch })
    assert.deepEqual(await refusal(good, await devTokenFor(server.dataDir)), { status: 403, code: ErrorCode.DeviceMismatch })
    assert.deepEqual(await refusal(nameless, await devTokenFor(server.dataDir, { device: 'laptop-1' })), { status: 403, code: ErrorCode.DeviceMismatch })
  })

  test('a bad token with a good certificate is still a token error (401)', async () => {
    assert.deepEqual(await refusal(good, null), { status: 401, code: ErrorCode.TokenMissing })
  })

  test("the trusted device syncs with a stock client, and the event log records its device", async () => {
    const token = await devTokenFor(server.dataDir, { device: 'laptop-1' })
    const client = connectStockClient(server.url, 'proposal/mtls-log', { params: { token }, WebSocketPolyfill: tlsWebSocketClass(withCert(good)) })
    try {
      await client.whenSynced()
      client.doc.getMap('meta').set('title', 'from laptop-1')
      const events = await eventually(async () => {
        const found = await server.server.store.readEvents('acme/proposal/mtls-log')
        assert.ok(found.some((event) => event.outcome === 'accepted'), JSON.stringify(found.map((event) => event.outcome)))
        return found
      })
      const accepted = events.filter((event) => event.outcome === 'accepted' && event.userId === 'alice')
      assert.ok(accepted.length > 0, 'an accepted change was recorded')
      for (const event of accepted) assert.equal(event.device, 'laptop-1')
    } finally {
      client.destroy()
    }
  })

  test('HTTP routes need a trusted certificate too; the health probes do not', async () => {
    const list = await httpsGet(`${server.httpUrl}/api/documents`, withCert())
    assert.equal(list.status, 401)
    assert.equal(JSON.parse(list.body).error.code, ErrorCode.ClientCertMissing)
    const revokedList = await httpsGet(`${server.httpUrl}/api/documents`, withCert(revoked))
    assert.equal(JSON.parse(revokedList.body).error.code, ErrorCode.ClientCertRevoked)
    assert.equal((await httpsGet(`${server.httpUrl}/healthz`, withCert())).status, 200)
    assert.equal((await httpsGet(`${server.httpUrl}/readyz`, withCert())).status, 200)
    // With a trusted certificate the route answers as it always does (here: no token, 401 of the API).
    const trusted = await httpsGet(`${server.httpUrl}/api/documents`, withCert(good))
    assert.equal(JSON.parse(trusted.body).error.code, ErrorCode.TokenMissing)
  })

  test('an expired CRL fails closed: every certificate is refused as untrusted (CRL_HAS_EXPIRED)', async () => {
    const staleCa = await createTestCa(pki.path, 'stale-ca')
    const device = await staleCa.clientCert('stale-device', 'laptop-1')
    const staleCrl = await staleCa.crl([], undefined, { expired: true })
    const serverCert = await serverCa.serverCert('stale-server')
    const stale = await startServer({ tlsCert: serverCert.certFile, tlsKey: serverCert.keyFile, tlsClientCa: staleCa.certFile, tlsCrl: staleCrl })
    try {
      const answer = await httpsGet(`${stale.httpUrl}/api/documents`, withCert(device))
      assert.equal(answer.status, 401)
      const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } }
      assert.equal(error.code, ErrorCode.ClientCertUntrusted)
      assert.match(error.message, /CRL_HAS_EXPIRED/)
    } finally {
      await stale.dispose()
    }
  })

  test('a reload picks up a new CRL: a certificate revoked since is refused on its next connection', async () => {
    const token = await devTokenFor(server.dataDir, { device: 'laptop-1' })
    const before = await connectRawPeer(`${server.url}/proposal/mtls-crl?token=${token}`, withCert(good))
    before.close()
    // A TLS session of the device from before the reload: resuming it would skip verification.
    const session = await tlsSession(withCert(good))
    assert.equal(await tlsSessionReused(withCert(good), session), true)
    await deviceCa.crl([good], crlFile)
    assert.equal(await server.server.reloadTls(), true)
    assert.deepEqual(await refusal(good, token), { status: 401, code: ErrorCode.ClientCertRevoked })
    // The reload made a new context with new ticket keys: the old session is not resumed.
    assert.equal(await tlsSessionReused(withCert(good), session), false)
  })
})
