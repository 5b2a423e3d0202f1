import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectRawPeer } from '../../shared/testing/rawPeer.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { createTestCa, type IssuedCert, type TestCa } from '../tls/testing/testPki.ts'
import { devTokenFor, httpsGet, type ClientTls } from '../tls/testing/tlsClients.ts'
import { UNKNOWN_TENANT } from './auditRecord.ts'
import { buildAuditReport } from './auditReport.ts'
import { auditLogFor } from './auditStorage.ts'
import { CLI_COMMAND_HEADER } from './auditTrail.ts'

/**
 * Requests device trust refuses before any route looks at them (mutual TLS with real
 * certificates: none, another CA's, a revoked one), over HTTP and over the WebSocket upgrade. No
 * token was read, so each is recorded under tenant `-`, with the address, the route or document
 * asked for and the certificate's refusal code.
 */
describe('access audit: device trust refusals before routing', () => {
  let pki: Awaited<ReturnType<typeof tempDir>>
  let serverCa: TestCa
  let revoked: IssuedCert
  let foreign: IssuedCert
  let server: TestServer
  before(async () => {
    pki = await tempDir('posalpro-audit-mtls-http-')
    serverCa = await createTestCa(pki.path, 'server-ca')
    const deviceCa = await createTestCa(pki.path, 'device-ca')
    const otherCa = await createTestCa(pki.path, 'other-ca')
    const serverCert = await serverCa.serverCert('server')
    revoked = await deviceCa.clientCert('laptop-2', 'laptop-2')
    // The same device name from another CA: the name alone is not trusted.
    foreign = await otherCa.clientCert('impostor', 'laptop-2')
    server = await startServer({ tlsCert: serverCert.certFile, tlsKey: serverCert.keyFile, tlsClientCa: deviceCa.certFile, tlsCrl: await deviceCa.crl([revoked]), auditFlushMs: 10 })
  })
  after(async () => {
    await server?.dispose()
    await pki?.remove()
  })

  const withCert = (cert?: IssuedCert): ClientTls => ({ ca: serverCa.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) })
  const codeOf = (body: string): string => (JSON.parse(body) as { error: { code: string } }).error.code
  const upgradeRefusal = async (cert: IssuedCert | undefined, path: string): Promise<string> => {
    try {
      ;(await connectRawPeer(`${server.url}${path}?token=${await devTokenFor(server.dataDir, { user: 'lost', device: 'laptop-2' })}`, withCert(cert))).close()
    } catch (error) {
      return codeOf((error as { body?: string }).body ?? '{}')
    }
    throw new Error('the upgrade was accepted')
  }

  test('HTTP (admin API, CLI, app API) and WebSocket refusals are recorded with route or document, address and code; the probes are not refusals', async () => {
    const admin = await httpsGet(`${server.httpUrl}/admin/docs`, withCert())
    assert.deepEqual([admin.status, codeOf(admin.body)], [401, ErrorCode.ClientCertMissing])
    const cli = await httpsGet(`${server.httpUrl}/admin/docs/proposal/audit-dt/events?from=1`, withCert(foreign), { [CLI_COMMAND_HEADER]: 'docs events' })
    assert.deepEqual([cli.status, codeOf(cli.body)], [401, ErrorCode.ClientCertUntrusted])
    const app = await httpsGet(`${server.httpUrl}/api/reviews?status=all`, withCert(revoked))
    assert.deepEqual([app.status, codeOf(app.body)], [401, ErrorCode.ClientCertRevoked])
    assert.equal((await httpsGet(`${server.httpUrl}/healthz`, withCert())).status, 200)
    assert.equal(await upgradeRefusal(undefined, '/proposal/audit-dt'), ErrorCode.ClientCertMissing)
    assert.equal(await upgradeRefusal(foreign, '/proposal/audit-dt'), ErrorCode.ClientCertUntrusted)

    const report = await eventually(async () => {
      const built = await buildAuditReport({ audit: auditLogFor(server.server.store), store: server.server.store }, UNKNOWN_TENANT, { from: 0, to: Date.now() + 60_000 })
      assert.equal(built.records.length, 5, JSON.stringify(built.records))
      return built
    })
    assert.deepEqual(
      report.records.map(({ tenant, userId, address, document, action, route, command, outcome, code }) => ({ tenant, userId, address, document, action, route, command, outcome, code })),
      [
        { tenant: '-', userId: null, address: '127.0.0.1', document: null, action: 'admin-api', route: 'GET /admin/docs', command: null, outcome: 'refused', code: ErrorCode.ClientCertMissing },
        { tenant: '-', userId: null, address: '127.0.0.1', document: 'proposal/audit-dt', action: 'cli', route: 'GET /admin/docs/proposal/audit-dt/events', command: 'docs events', outcome: 'refused', code: ErrorCode.ClientCertUntrusted },
        { tenant: '-', userId: null, address: '127.0.0.1', document: null, action: 'http', route: 'GET /api/reviews', command: null, outcome: 'refused', code: ErrorCode.ClientCertRevoked },
        { tenant: '-', userId: null, address: '127.0.0.1', document: 'proposal/audit-dt', action: 'open', route: null, command: null, outcome: 'refused', code: ErrorCode.ClientCertMissing },
        { tenant: '-', userId: null, address: '127.0.0.1', document: 'proposal/audit-dt', action: 'open', route: null, command: null, outcome: 'refused', code: ErrorCode.ClientCertUntrusted },
      ],
    )
    assert.deepEqual(report.rows.find((row) => row.user === null && row.document === 'proposal/audit-dt')?.refusedCodes, {
      [ErrorCode.ClientCertUntrusted]: 2,
      [ErrorCode.ClientCertMissing]: 1,
    })
  })
})
