import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { CloseCode } from '../../shared/closeCodes.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { apiRequest } from '../testing/apiRequests.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { AuditReport } from './auditReport.ts'

/**
 * Access decisions made after the upgrade admitted a connection, or outside the upgrade: a token
 * that expires while its connection is open, a WebSocket handshake `ws` refuses after the token
 * was verified, and review decisions through the app's API. Each is asserted in the report.
 */

const YEAR_MS = 365 * 24 * 3600 * 1000

const reportOf = async (server: TestServer, user?: string): Promise<AuditReport> => {
  const admin = await server.token({ user: 'root', role: 'admin' })
  const query = new URLSearchParams({ from: new Date(Date.now() - YEAR_MS).toISOString(), to: new Date(Date.now() + YEAR_MS).toISOString(), ...(user ? { user } : {}) })
  const { status, body } = await adminRequest<AuditReport>(server, admin, 'GET', `/audit/report?${query}`)
  assert.equal(status, 200, JSON.stringify(body))
  return body
}

/** The fields a record is judged by (id and time vary). */
const fieldsOf = (report: AuditReport) =>
  report.records.map(({ tenant, userId, role, address, document, action, route, outcome, code }) => ({ tenant, userId, role, address, document, action, route, outcome, code }))

/** One raw upgrade request written by hand; resolves with the status line and body of the answer. */
const rawUpgrade = (port: number, head: string): Promise<{ statusLine: string; body: string }> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head))
    let answer = ''
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')))
    socket.on('error', reject)
    socket.on('close', () => {
      const [headers = '', body = ''] = answer.split('\r\n\r\n')
      resolve({ statusLine: headers.split('\r\n')[0] ?? '', body })
    })
  })

describe('access audit: decisions after or beside the upgrade', () => {
  let server: TestServer
  const clients = gateClientPool()
  before(async () => {
    server = await startServer({ auditFlushMs: 10 })
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  test('a token expiring mid-connection: closed 4401 and recorded refused ERR_TOKEN_EXPIRED for that user, document and address', async () => {
    const peer = await server.raw('/proposal/audit-expiry', { user: 'ttl-user', ttl: 1 })
    const closed = await peer.closed
    assert.deepEqual([closed.code, closed.errorCode], [CloseCode.Unauthorized, ErrorCode.TokenExpired])
    await eventually(async () => {
      const report = await reportOf(server, 'ttl-user')
      assert.deepEqual(fieldsOf(report), [
        { tenant: 'acme', userId: 'ttl-user', role: 'editor', address: '127.0.0.1', document: 'proposal/audit-expiry', action: 'open', route: null, outcome: 'admitted', code: null },
        { tenant: 'acme', userId: 'ttl-user', role: 'editor', address: '127.0.0.1', document: 'proposal/audit-expiry', action: 'open', route: null, outcome: 'refused', code: ErrorCode.TokenExpired },
      ])
      const row = report.rows.find((each) => each.user === 'ttl-user')
      assert.deepEqual({ admitted: row?.admitted, refused: row?.refused, codes: row?.refusedCodes }, { admitted: 1, refused: 1, codes: { [ErrorCode.TokenExpired]: 1 } })
    })
  })

  test('a handshake ws refuses after the token verified (a bad Sec-WebSocket-Version) is answered 400 ERR_BAD_REQUEST and recorded under the user', async () => {
    const token = await server.token({ user: 'old-client' })
    const answer = await rawUpgrade(
      server.server.port,
      `GET /proposal/audit-handshake?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n',
    )
    assert.match(answer.statusLine, /^HTTP\/1\.1 400 /)
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, ErrorCode.BadRequest)
    await eventually(async () =>
      assert.deepEqual(fieldsOf(await reportOf(server, 'old-client')), [
        { tenant: 'acme', userId: 'old-client', role: 'editor', address: '127.0.0.1', document: 'proposal/audit-handshake', action: 'open', route: null, outcome: 'refused', code: ErrorCode.BadRequest },
      ]),
    )
  })

  test("review decisions through /api/reviews are recorded once, like the admin route's: the decider admitted, a non-decider refused ERR_NOT_REVIEWER", async () => {
    const room = 'proposal/audit-app-review'
    const editor = await clients.open(server, room, { user: 'edna' })
    editor.map('financial').set('value', 7_500)
    const reviewId = await eventually(() => {
      const held = editor.notices.find((notice) => notice.outcome === 'review')
      assert.ok(held?.reviewId, JSON.stringify(editor.notices))
      return held.reviewId
    })
    const eve = await apiRequest<{ error: { code: string } }>(server, await server.token({ user: 'eve' }), 'POST', `/reviews/${reviewId}/approve`)
    assert.deepEqual([eve.status, eve.body.error.code], [403, ErrorCode.NotReviewer])
    const approved = await apiRequest<{ status: string }>(server, await server.token({ user: 'mona', role: 'manager' }), 'POST', `/reviews/${reviewId}/approve`)
    assert.deepEqual([approved.status, approved.body.status], [200, 'approved'])
    // Reading the inbox is not a decision: not recorded.
    assert.equal((await apiRequest(server, await server.token({ user: 'mona', role: 'manager' }), 'GET', '/reviews')).status, 200)
    const route = `POST /api/reviews/${reviewId}/approve`
    await eventually(async () => {
      const records = fieldsOf(await reportOf(server)).filter((record) => record.route?.startsWith('POST /api/reviews') || record.route === 'GET /api/reviews')
      assert.deepEqual(records, [
        { tenant: 'acme', userId: 'eve', role: 'editor', address: '127.0.0.1', document: room, action: 'admin-api', route, outcome: 'refused', code: ErrorCode.NotReviewer },
        { tenant: 'acme', userId: 'mona', role: 'manager', address: '127.0.0.1', document: room, action: 'admin-api', route, outcome: 'admitted', code: null },
      ])
    })
    const report = await reportOf(server, 'mona')
    assert.equal(report.rows.find((row) => row.document === room)?.approved, 1)
  })
})
