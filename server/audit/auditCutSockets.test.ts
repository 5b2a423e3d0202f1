import assert from 'node:assert/strict'
import net from 'node:net'
import { describe, test } from 'node:test'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { startServer } from '../testing/startServer.ts'
import { connectRawPeer } from '../../shared/testing/rawPeer.ts'
import { devTokenFor, httpsGet } from '../tls/testing/tlsClients.ts'
import { createTestCa } from '../tls/testing/testPki.ts'
import { AuditAppender } from './auditAppender.ts'
import { UNKNOWN_TENANT } from './auditRecord.ts'
import { buildAuditReport } from './auditReport.ts'
import { auditLogFor } from './auditStorage.ts'
import { CutSockets, OTHER_ADDRESSES } from './cutSockets.ts'

interface RawSocket {
  readonly socket: net.Socket
  answer: string
  closed: boolean
}

/** A TCP connection that writes `bytes` (the start of a request, or junk) and then nothing more. */
const openSocket = (port: number, bytes: string): Promise<RawSocket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const raw: RawSocket = { socket, answer: '', closed: false }
    socket.on('data', (chunk: Buffer) => (raw.answer += chunk.toString('latin1')))
    socket.on('close', () => (raw.closed = true))
    socket.on('error', () => undefined) // a cut socket may be reset; it counts as closed
    socket.once('connect', () => {
      socket.write(bytes)
      resolve(raw)
    })
    socket.once('error', reject)
  })

const HALF_SENT = 'GET /proposal/p-cut HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Ver'

describe('access audit: sockets cut before a request, summed up per address and code', () => {
  test('cap evictions, header timeouts and a request the parser refused: one record per address and code with the count, read back after a restart', async () => {
    const server = await startServer({ maxUnauthenticatedPerAddress: 3, headersTimeoutMs: 1_500, auditFlushMs: 10 })
    const sockets: RawSocket[] = []
    try {
      // Ten half-sent requests from one address with room for three: seven are cut to make room,
      // the three left are cut by the header timeout.
      for (let i = 0; i < 10; i++) sockets.push(await openSocket(server.server.port, HALF_SENT))
      await eventually(() => assert.equal(sockets.filter((each) => !each.closed).length, 0))
      assert.equal(sockets.filter((each) => each.answer.startsWith('HTTP/1.1 408')).length, 3)
      const junk = await openSocket(server.server.port, 'NOT HTTP AT ALL\r\n\r\n')
      await eventually(() => assert.ok(junk.closed, 'the junk request was answered and closed'))
      assert.match(junk.answer, /^HTTP\/1\.1 400 /)
      await server.stop() // writes what was summed up so far
      const store = await DocumentStore.open(server.dataDir)
      try {
        const report = await buildAuditReport({ audit: auditLogFor(store), store }, UNKNOWN_TENANT, { from: 0, to: Date.now() + 60_000 })
        const summed = report.records
          .map(({ tenant, userId, address, document, action, outcome, code, count }) => ({ tenant, userId, address, document, action, outcome, code, count: count ?? 1 }))
          .sort((a, b) => (a.code ?? '').localeCompare(b.code ?? ''))
        const expected = (code: string, count: number) => ({ tenant: '-', userId: null, address: '127.0.0.1', document: null, action: 'socket', outcome: 'refused', code, count })
        // On a loaded machine the split can move by one (a timeout firing while the sockets are
        // still being opened, or one more socket of the address counted): the records must add up.
        const evicted = summed.find((record) => record.code === ErrorCode.TooManyUnauthenticatedFromAddress)?.count ?? 0
        const timedOut = summed.find((record) => record.code === ErrorCode.RequestTimeout)?.count ?? 0
        assert.ok(evicted >= 6 && timedOut >= 1, `evicted ${evicted}, timed out ${timedOut}`)
        assert.deepEqual(summed, [expected(ErrorCode.BadRequest, 1), expected(ErrorCode.RequestTimeout, timedOut), expected(ErrorCode.TooManyUnauthenticatedFromAddress, evicted)])
        const row = report.rows.find((each) => each.user === null && each.document === null)
        assert.deepEqual(
          { refused: row?.refused, codes: row?.refusedCodes },
          { refused: evicted + timedOut + 1, codes: { [ErrorCode.TooManyUnauthenticatedFromAddress]: evicted, [ErrorCode.RequestTimeout]: timedOut, [ErrorCode.BadRequest]: 1 } },
        )
      } finally {
        await store.close()
      }
    } finally {
      for (const each of sockets) each.socket.destroy()
      await server.dispose()
    }
  })

  test('upgrades refused at the pending-upgrades cap (only a flood fills it) are summed up per address, document and code', async () => {
    const server = await startServer({ maxPendingUpgrades: 0, auditFlushMs: 10 })
    try {
      const token = await devTokenFor(server.dataDir)
      for (const path of ['/proposal/p-flood', '/proposal/p-flood', '/proposal/p-flood', '/customer/c-flood']) {
        await assert.rejects(connectRawPeer(`${server.url}${path}?token=${token}`), (error: { status?: number; body?: string }) => {
          assert.deepEqual([error.status, (JSON.parse(error.body ?? '{}') as { error: { code: string } }).error.code], [503, ErrorCode.TooManyPendingConnections])
          return true
        })
      }
      await server.stop()
      const store = await DocumentStore.open(server.dataDir)
      try {
        const report = await buildAuditReport({ audit: auditLogFor(store), store }, UNKNOWN_TENANT, { from: 0, to: Date.now() + 60_000 })
        const summed = report.records
          .map(({ tenant, userId, address, document, action, outcome, code, count }) => ({ tenant, userId, address, document, action, outcome, code, count: count ?? 1 }))
          .sort((a, b) => (a.document ?? '').localeCompare(b.document ?? ''))
        const expected = (document: string, count: number) => ({ tenant: '-', userId: null, address: '127.0.0.1', document, action: 'open', outcome: 'refused', code: ErrorCode.TooManyPendingConnections, count })
        assert.deepEqual(summed, [expected('customer/c-flood', 1), expected('proposal/p-flood', 3)])
        assert.equal(report.rows.find((row) => row.document === 'proposal/p-flood')?.refusedCodes[ErrorCode.TooManyPendingConnections], 3)
      } finally {
        await store.close()
      }
    } finally {
      await server.dispose()
    }
  })

  test('TLS handshakes that stall past the timeout or fail (a TLS 1.2-only client) are summed up too', async () => {
    const pki = await tempDir('posalpro-audit-cut-tls-')
    try {
      const ca = await createTestCa(pki.path, 'server-ca')
      const cert = await ca.serverCert('server')
      const server = await startServer({ tlsCert: cert.certFile, tlsKey: cert.keyFile, headersTimeoutMs: 1_000, auditFlushMs: 10 })
      try {
        const silent = await openSocket(server.server.port, '') // connects, never says hello
        await assert.rejects(httpsGet(`${server.httpUrl}/healthz`, { ca: ca.certPem, maxVersion: 'TLSv1.2' }), /protocol version|EPROTO/i)
        await eventually(() => assert.ok(silent.closed, 'the silent socket was cut at the handshake timeout'))
        await server.stop()
        const store = await DocumentStore.open(server.dataDir)
        try {
          const report = await buildAuditReport({ audit: auditLogFor(store), store }, UNKNOWN_TENANT, { from: 0, to: Date.now() + 60_000 })
          const summed = report.records.map(({ address, document, action, outcome, code, count }) => ({ address, document, action, outcome, code, count: count ?? 1 })).sort((a, b) => (a.code ?? '').localeCompare(b.code ?? ''))
          assert.deepEqual(summed, [
            { address: '127.0.0.1', document: null, action: 'socket', outcome: 'refused', code: ErrorCode.RequestTimeout, count: 1 },
            { address: '127.0.0.1', document: null, action: 'socket', outcome: 'refused', code: ErrorCode.TlsHandshakeFailed, count: 1 },
          ])
        } finally {
          await store.close()
        }
      } finally {
        await server.dispose()
      }
    } finally {
      await pki.remove()
    }
  })

  test('a flood from many addresses costs a bounded number of records: past the bound they are summed under one', async () => {
    const dir = await tempDir('posalpro-audit-cut-')
    const store = await DocumentStore.open(dir.path)
    try {
      const appender = new AuditAppender(auditLogFor(store), { maxBuffered: 10_000, flushMs: 10 })
      const cuts = new CutSockets(appender, 60_000, 5)
      for (let i = 0; i < 1_000; i++) cuts.cut(`2001:db8::${i.toString(16)}`, ErrorCode.TooManyUnauthenticated)
      cuts.cut('2001:db8::1', ErrorCode.TooManyUnauthenticated) // a summed-up address keeps its own count
      cuts.flush()
      await appender.close()
      const report = await buildAuditReport({ audit: auditLogFor(store), store }, UNKNOWN_TENANT, { from: 0, to: Date.now() + 60_000 })
      const byAddress = report.records.map((record) => [record.address, record.count ?? 1]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))
      assert.deepEqual(byAddress, [[OTHER_ADDRESSES, 995], ['2001:db8::0', 1], ['2001:db8::1', 2], ['2001:db8::2', 1], ['2001:db8::3', 1], ['2001:db8::4', 1]])
      assert.equal(report.rows.find((row) => row.user === null)?.refusedCodes[ErrorCode.TooManyUnauthenticated], 1_001)
    } finally {
      await store.close()
      await dir.remove()
    }
  })
})
