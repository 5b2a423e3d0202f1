import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectRawPeer } from '../../shared/testing/rawPeer.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { filesContaining, newMasterKey } from '../testing/atRestFiles.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { createTestCa, type IssuedCert, type TestCa } from '../tls/testing/testPki.ts'
import { devTokenFor, type ClientTls } from '../tls/testing/tlsClients.ts'
import { UNKNOWN_TENANT, type AuditRecord } from './auditRecord.ts'
import { auditLogFor } from './auditStorage.ts'

/** The records of a tenant the server has written so far. */
const stored = (server: TestServer, tenant: string): Promise<AuditRecord[]> => auditLogFor(server.server.store).read(tenant, { from: 0, to: Date.now() + 60_000, limit: 1_000 })

describe('access audit under device trust (mutual TLS)', () => {
  let pki: Awaited<ReturnType<typeof tempDir>>
  let serverCa: TestCa
  let good: IssuedCert
  let revoked: IssuedCert
  let server: TestServer
  before(async () => {
    pki = await tempDir('posalpro-audit-mtls-')
    serverCa = await createTestCa(pki.path, 'server-ca')
    const deviceCa = await createTestCa(pki.path, 'device-ca')
    const serverCert = await serverCa.serverCert('server')
    good = await deviceCa.clientCert('laptop-1', 'laptop-1')
    revoked = await deviceCa.clientCert('laptop-2', 'laptop-2')
    server = await startServer({ tlsCert: serverCert.certFile, tlsKey: serverCert.keyFile, tlsClientCa: deviceCa.certFile, tlsCrl: await deviceCa.crl([revoked]), auditFlushMs: 10 })
  })
  after(async () => {
    await server?.dispose()
    await pki?.remove()
  })

  const tlsOf = (cert: IssuedCert): ClientTls => ({ ca: serverCa.certPem, cert: cert.certPem, key: cert.keyPem })
  const refused = async (cert: IssuedCert, path: string, token: string): Promise<string> => {
    try {
      ;(await connectRawPeer(`${server.url}${path}?token=${token}`, tlsOf(cert))).close()
    } catch (error) {
      return (JSON.parse((error as { body?: string }).body ?? '{}') as { error: { code: string } }).error.code
    }
    throw new Error('the upgrade was accepted')
  }

  test('a revoked certificate is recorded (before the token: tenant "-"), a device mismatch under the user; the trusted device with its device', async () => {
    assert.equal(await refused(revoked, '/proposal/audit-mtls', await devTokenFor(server.dataDir, { user: 'lost', device: 'laptop-2' })), ErrorCode.ClientCertRevoked)
    assert.equal(await refused(good, '/proposal/audit-mtls', await devTokenFor(server.dataDir, { user: 'frank', device: 'laptop-9' })), ErrorCode.DeviceMismatch)
    ;(await connectRawPeer(`${server.url}/proposal/audit-mtls?token=${await devTokenFor(server.dataDir, { user: 'alice', device: 'laptop-1' })}`, tlsOf(good))).close()
    await eventually(async () => {
      const anonymous = (await stored(server, UNKNOWN_TENANT)).map((record) => [record.userId, record.document, record.outcome, record.code])
      assert.deepEqual(anonymous, [[null, 'proposal/audit-mtls', 'refused', ErrorCode.ClientCertRevoked]])
      const acme = (await stored(server, 'acme')).map((record) => [record.userId, record.device, record.document, record.outcome, record.code])
      assert.deepEqual(acme, [
        ['frank', 'laptop-9', 'proposal/audit-mtls', 'refused', ErrorCode.DeviceMismatch],
        ['alice', 'laptop-1', 'proposal/audit-mtls', 'admitted', null],
      ])
    })
  })
})

describe('access audit encrypted at rest', () => {
  test('a user id, its address and the document name are in no file of the data directory', async () => {
    const marker = `auditmarker${Date.now().toString(36)}`
    const server = await startServer({ masterKey: newMasterKey(), auditFlushMs: 10 })
    try {
      ;(await server.raw(`/proposal/${marker}`, { user: marker })).close()
      await eventually(async () => assert.equal((await stored(server, 'acme')).filter((record) => record.userId === marker).length, 1))
      await server.stop()
      assert.deepEqual(filesContaining(server.dataDir, marker), [])
    } finally {
      await server.dispose()
    }
  })
})
