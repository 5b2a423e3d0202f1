import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { DEV_TOKEN_ISSUER, issueDevToken, loadOrCreateDevSecret } from '../auth/devMode.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { adminCli } from '../testing/adminCli.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { connectGateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { AuditReport, ReportRow } from './auditReport.ts'
import { UNKNOWN_TENANT, type AuditRecord } from './auditRecord.ts'
import { auditLogFor } from './auditStorage.ts'

/**
 * The access audit end to end: a real server, real tokens, refusals as clients meet them, and the
 * report (admin API, CLI online and offline) showing each with its user, document and reason.
 */

/** A refused upgrade's error code (the test fails if the upgrade is accepted). */
const refusedCode = async (server: TestServer, path: string, options: Parameters<TestServer['raw']>[1] = {}): Promise<string> => {
  try {
    const peer = await server.raw(path, options)
    peer.close()
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string }
    if (status === undefined) throw error
    return (JSON.parse(body ?? '{}') as { error: { code: string } }).error.code
  }
  throw new Error(`the upgrade of ${path} was accepted`)
}

const YEAR_MS = 365 * 24 * 3600 * 1000
const wholeTime = () => ({ from: new Date(Date.now() - YEAR_MS).toISOString(), to: new Date(Date.now() + YEAR_MS).toISOString() })

const fetchReport = async (server: TestServer, token: string, query: Record<string, string> = wholeTime()): Promise<AuditReport> => {
  const { status, body } = await adminRequest<AuditReport>(server, token, 'GET', `/audit/report?${new URLSearchParams(query)}`)
  assert.equal(status, 200, JSON.stringify(body))
  return body
}

const rowOf = (report: AuditReport, user: string | null, document: string | null): ReportRow => {
  const row = report.rows.find((each) => each.user === user && each.document === document)
  assert.ok(row, `no row for ${user} on ${document}: ${JSON.stringify(report.rows)}`)
  return row
}

/** A token signed with the dev secret, with claims the dev token endpoint would not issue. */
const signedToken = async (dataDir: string, claims: Record<string, unknown>): Promise<string> => {
  const { secret } = await loadOrCreateDevSecret(dataDir)
  return new SignJWT({ name: 'someone', tenant: 'acme', role: 'editor', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(DEV_TOKEN_ISSUER)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(secret)
}

describe('access audit on a running server', () => {
  let server: TestServer
  let admin: string
  before(async () => {
    server = await startServer({ auditFlushMs: 10 })
    admin = await server.token({ user: 'root', role: 'admin' })
  })
  after(() => server.dispose())

  test('an admitted open is recorded with user, role, address and document', async () => {
    const peer = await server.raw('/proposal/audit-1', { user: 'alice' })
    peer.close()
    const report = await fetchReport(server, admin)
    assert.equal(rowOf(report, 'alice', 'proposal/audit-1').admitted, 1)
    const record = report.records.find((each) => each.userId === 'alice' && each.document === 'proposal/audit-1')
    assert.deepEqual(
      { tenant: record?.tenant, role: record?.role, address: record?.address, action: record?.action, outcome: record?.outcome, code: record?.code },
      { tenant: 'acme', role: 'editor', address: '127.0.0.1', action: 'open', outcome: 'admitted', code: null },
    )
  })

  test('an expired token is refused and recorded under the user it names (its signature verified)', async () => {
    const { secret } = await loadOrCreateDevSecret(server.dataDir)
    const { token } = await issueDevToken(secret, { user: 'carol', role: 'editor', tenant: 'acme', ttlSeconds: 60 }, () => Date.now() - 3600_000)
    assert.equal(await refusedCode(server, '/proposal/audit-1', { token }), ErrorCode.TokenExpired)
    const row = rowOf(await fetchReport(server, admin), 'carol', 'proposal/audit-1')
    assert.deepEqual({ admitted: row.admitted, refused: row.refused, codes: row.refusedCodes }, { admitted: 0, refused: 1, codes: { [ErrorCode.TokenExpired]: 1 } })
  })

  test('a refusal before any token was verified is recorded under tenant "-" with the address, document and code', async () => {
    assert.equal(await refusedCode(server, '/proposal/audit-anon', { token: null }), ErrorCode.TokenMissing)
    // A token whose signature does not verify names nobody, whatever it claims.
    const forged = (await server.token({ user: 'eve' })).replace(/.{4}$/, 'AAAA')
    assert.equal(await refusedCode(server, '/proposal/audit-anon', { token: forged }), ErrorCode.TokenInvalid)
    // The document name is checked before the token: a good token asking for an unknown type names nobody yet.
    assert.equal(await refusedCode(server, '/invoice/audit-anon'), ErrorCode.UnknownDocumentType)
    const anonymous = await eventually(async () => {
      const records = await auditLogFor(server.server.store).read(UNKNOWN_TENANT, { from: 0, to: Date.now() + 1000, limit: 100 })
      assert.equal(records.filter((record) => record.document === 'proposal/audit-anon').length, 2)
      return records
    })
    const codes = anonymous.filter((record) => record.document === 'proposal/audit-anon').map((record) => [record.userId, record.address, record.outcome, record.code])
    assert.deepEqual(codes, [
      [null, '127.0.0.1', 'refused', ErrorCode.TokenMissing],
      [null, '127.0.0.1', 'refused', ErrorCode.TokenInvalid],
    ])
    assert.ok(!(await fetchReport(server, admin)).records.some((record) => record.userId === 'eve'), 'a forged token is not taken at its word')
    await eventually(async () => {
      const unknownType = (await auditLogFor(server.server.store).read(UNKNOWN_TENANT, { from: 0, to: Date.now() + 1000, limit: 100 })).find((record) => record.document === 'invoice/audit-anon')
      assert.deepEqual([unknownType?.userId, unknownType?.code], [null, ErrorCode.UnknownDocumentType])
    })
  })

  test("another tenant's access is in that tenant's report only; a non-admin's admin call is refused ERR_ADMIN_ONLY", async () => {
    const peer = await server.raw('/proposal/audit-1', { user: 'mallory', tenant: 'globex' })
    peer.close()
    const bob = await server.token({ user: 'bob', role: 'editor' })
    assert.equal((await adminRequest(server, bob, 'GET', '/docs')).status, 403)
    const acme = await fetchReport(server, admin)
    assert.ok(!acme.records.some((record) => record.userId === 'mallory'), 'no record of mallory in acme')
    const refused = rowOf(acme, 'bob', null)
    assert.deepEqual(refused.refusedCodes, { [ErrorCode.AdminOnly]: 1 })
    assert.equal(acme.records.find((record) => record.userId === 'bob')?.route, 'GET /admin/docs')
    const globex = await fetchReport(server, await server.token({ user: 'root', role: 'admin', tenant: 'globex' }))
    assert.equal(rowOf(globex, 'mallory', 'proposal/audit-1').admitted, 1)
  })

  test("a viewer's write is not an access refusal: admitted, and counted as a read-only write among the changes", async () => {
    const viewer = await server.connect('proposal/audit-view', { user: 'victor', role: 'viewer' })
    try {
      await viewer.whenSynced()
      viewer.doc.getMap('meta').set('title', 'viewers cannot write')
      await eventually(async () => {
        const row = rowOf(await fetchReport(server, admin), 'victor', 'proposal/audit-view')
        assert.deepEqual({ admitted: row.admitted, refused: row.refused, readOnly: row.readOnly, rejected: row.rejected }, { admitted: 1, refused: 0, readOnly: 1, rejected: 0 })
      })
    } finally {
      viewer.destroy()
    }
  })

  test('admin API calls are recorded with method and route; the CLI online is recorded as action cli with its command', async () => {
    assert.equal((await adminRequest(server, admin, 'GET', '/docs')).status, 200)
    const cli = await adminCli(['--url', server.httpUrl, '--token', admin, 'docs', 'compact', 'proposal/audit-1'])
    assert.equal(cli.code, 0, cli.stderr)
    const records = (await fetchReport(server, admin)).records.filter((record) => record.userId === 'root')
    assert.ok(records.some((record) => record.action === 'admin-api' && record.route === 'GET /admin/docs' && record.outcome === 'admitted'), 'the admin call is recorded, admitted')
    const compact = records.find((record) => record.action === 'cli')
    assert.deepEqual(
      { command: compact?.command, route: compact?.route, document: compact?.document, outcome: compact?.outcome },
      { command: 'docs compact', route: 'POST /admin/docs/proposal/audit-1/compact', document: 'proposal/audit-1', outcome: 'admitted' },
    )
  })

  test('changes and review decisions: a held change approved by the CLI is counted for the proposer and the admin, and listed', async () => {
    const room = 'proposal/audit-review'
    const manager = await connectGateClient(server, room, { user: 'max', role: 'manager' })
    const editor = await connectGateClient(server, room, { user: 'eddie' })
    try {
      manager.map('financial').set('value', 1000)
      await eventually(() => assert.equal(editor.map('financial').get('value'), 1000))
      editor.map('financial').set('value', 2500)
      const reviewId = await eventually(() => {
        const held = editor.notices.find((notice) => notice.outcome === 'review')
        assert.ok(held?.reviewId, JSON.stringify(editor.notices))
        return held.reviewId
      })
      await eventually(async () => assert.equal((await adminRequest(server, admin, 'GET', `/reviews/${reviewId}`)).status, 200))
      const approved = await adminCli(['--url', server.httpUrl, '--token', admin, 'review', 'approve', reviewId])
      assert.equal(approved.code, 0, approved.stderr)
      await eventually(async () => {
        const report = await fetchReport(server, admin)
        const eddie = rowOf(report, 'eddie', room)
        assert.deepEqual({ admitted: eddie.admitted, held: eddie.held }, { admitted: 1, held: 1 })
        assert.equal(rowOf(report, 'max', room).accepted, 1)
        const root = rowOf(report, 'root', room)
        assert.deepEqual({ approved: root.approved, adminChanges: root.adminChanges }, { approved: 1, adminChanges: 1 })
        assert.deepEqual(
          report.reviewDecisions.map(({ id, document, proposer, decidedBy, status }) => ({ id, document, proposer, decidedBy, status })),
          [{ id: reviewId, document: room, proposer: 'eddie', decidedBy: 'root', status: 'approved' }],
        )
        assert.ok(report.records.some((record) => record.action === 'cli' && record.command === 'review approve' && record.userId === 'root'), 'the online CLI approval is recorded as cli')
      })
    } finally {
      manager.destroy()
      editor.destroy()
    }
  })

  test('the period and --user filter the report', async () => {
    const future = await fetchReport(server, admin, { from: new Date(Date.now() + 3600_000).toISOString(), to: new Date(Date.now() + 7200_000).toISOString() })
    assert.deepEqual([future.rows, future.records], [[], []])
    const carol = await fetchReport(server, admin, { ...wholeTime(), user: 'carol' })
    assert.deepEqual(new Set(carol.records.map((record) => record.userId)), new Set(['carol']))
    assert.deepEqual(carol.rows.map((row) => row.user), ['carol'])
    const { status, body } = await adminRequest<{ error: { code: string } }>(server, admin, 'GET', '/audit/report?from=yesterday&to=2026-01-01')
    assert.deepEqual([status, body.error.code], [400, ErrorCode.BadRequest])
  })

  test('CSV: a user id with a comma or quote is quoted (RFC 4180); one starting with = + - @ is prefixed with \'', async () => {
    for (const sub of ['=HYPERLINK("http://x","y")', 'doe, "jd"', '-2+3', '@sum']) {
      const peer = await server.raw('/proposal/audit-csv', { token: await signedToken(server.dataDir, { sub }) })
      peer.close()
    }
    const cli = await adminCli(['--url', server.httpUrl, '--token', admin, 'audit', 'report', '--from', wholeTime().from, '--to', wholeTime().to, '--format', 'csv'])
    assert.equal(cli.code, 0, cli.stderr)
    const lines = cli.stdout.split('\r\n')
    assert.equal(lines[0], 'user,document,admitted,refused,refused_codes,changes_accepted,changes_rejected,writes_read_only,changes_held,changes_compensated,admin_changes,reviews_approved,reviews_rejected')
    const csvRows = lines.filter((line) => line.includes('proposal/audit-csv'))
    assert.deepEqual(csvRows.sort(), [
      `"'=HYPERLINK(""http://x"",""y"")",proposal/audit-csv,1,0,,0,0,0,0,0,0,0,0`,
      `"doe, ""jd""",proposal/audit-csv,1,0,,0,0,0,0,0,0,0,0`,
      `'-2+3,proposal/audit-csv,1,0,,0,0,0,0,0,0,0,0`,
      `'@sum,proposal/audit-csv,1,0,,0,0,0,0,0,0,0,0`,
    ].sort())
  })
})

describe('access audit: MFA and offline', () => {
  test('MFA required: refused ERR_MFA_REQUIRED and recorded under the user', async () => {
    const server = await startServer({ requireMfa: true, auditFlushMs: 10 })
    try {
      assert.equal(await refusedCode(server, '/customer/audit-mfa', { user: 'dave', amr: 'pwd' }), ErrorCode.MfaRequired)
      const row = rowOf(await fetchReport(server, await server.token({ user: 'root', role: 'admin', amr: 'pwd,otp' })), 'dave', 'customer/audit-mfa')
      assert.deepEqual(row.refusedCodes, { [ErrorCode.MfaRequired]: 1 })
    } finally {
      await server.dispose()
    }
  })

  test('an offline CLI action is recorded in the store by the CLI itself; the offline report reads it', async () => {
    const server = await startServer({ auditFlushMs: 10 })
    try {
      const writer = await server.connect('proposal/audit-offline', { user: 'alice' })
      await writer.whenSynced()
      writer.doc.getMap('meta').set('title', 'before compaction')
      try {
        await eventually(async () => assert.ok((await server.server.store.readEvents('acme/proposal/audit-offline')).some((event) => event.outcome === 'accepted'), 'the offline change is in the event log'))
      } finally {
        writer.destroy()
      }
      await server.stop()
      const offline = ['--data-dir', server.dataDir, '--tenant', 'acme']
      const compact = await adminCli([...offline, 'docs', 'compact', 'proposal/audit-offline'])
      assert.equal(compact.code, 0, compact.stderr)
      const refused = await adminCli([...offline, 'docs', 'revert', 'proposal/audit-offline', '99'])
      assert.equal(refused.code, 1, refused.stderr + refused.stdout)
      const cli = await adminCli([...offline, 'audit', 'report', '--from', wholeTime().from, '--to', wholeTime().to, '--format', 'json'])
      assert.equal(cli.code, 0, cli.stderr)
      const report = JSON.parse(cli.stdout) as AuditReport
      const actions = report.records.filter((record) => record.action === 'cli').map((record) => [record.command, record.document, record.outcome, record.code])
      assert.deepEqual(actions, [
        ['docs compact', 'proposal/audit-offline', 'admitted', null],
        ['docs revert', 'proposal/audit-offline', 'admitted', ErrorCode.BadRequest],
      ])
      assert.match(report.records.find((record) => record.action === 'cli')?.userId ?? '', /^posalpro-admin:/)
      // The session before: the open and the accepted change, per user and document.
      const alice = rowOf(report, 'alice', 'proposal/audit-offline')
      assert.equal(alice.admitted, 1)
      assert.ok(alice.accepted >= 1, JSON.stringify(alice))
    } finally {
      await server.dispose()
    }
  })

  test('a connection closed for sustained abuse of its budget is recorded as refused with ERR_RATE_LIMITED_BYTES', async () => {
    const server = await startServer({ rateBytesPerSecond: 1000, rateByteBurst: 1000, auditFlushMs: 10 })
    try {
      const flooder = await server.raw('/proposal/audit-flood', { user: 'flo' })
      await eventually(() => assert.ok(flooder.messagesOfType(0).length > 0, 'the flooder got the sync answer'))
      const doc = new Y.Doc()
      doc.getXmlFragment('body').insert(0, [new Y.XmlText('y'.repeat(100_000))])
      flooder.send(syncUpdateFrame(Y.encodeStateAsUpdate(doc)))
      assert.equal((await flooder.closed).errorCode, ErrorCode.RateLimitedBytes)
      const row = rowOf(await fetchReport(server, await server.token({ user: 'root', role: 'admin' })), 'flo', 'proposal/audit-flood')
      assert.deepEqual({ admitted: row.admitted, refusedCodes: row.refusedCodes }, { admitted: 1, refusedCodes: { [ErrorCode.RateLimitedBytes]: 1 } })
    } finally {
      await server.dispose()
    }
  })

  test('a full buffer drops new records, counted in collab_audit_dropped_total, and never holds up a connection', async () => {
    // One record fits; the write waits a minute: the next two accesses find the buffer full.
    const server = await startServer({ auditBufferRecords: 1, auditFlushMs: 60_000 })
    try {
      for (const user of ['first', 'second', 'third']) (await server.raw('/proposal/audit-full', { user })).close()
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
      assert.match(metrics, /^collab_audit_dropped_total\{reason="buffer-full"\} 2$/m)
      assert.match(metrics, /^collab_audit_dropped_total\{reason="write-failed"\} 0$/m)
      await server.stop() // shutdown writes what is buffered
      const store = await DocumentStore.open(server.dataDir)
      try {
        const kept = await auditLogFor(store).read('acme', { from: 0, to: Date.now(), limit: 10 })
        assert.deepEqual(kept.map((record) => record.userId), ['first'])
      } finally {
        await store.close()
      }
    } finally {
      await server.dispose()
    }
  })

  test('retention: records older than --audit-retention-days are deleted in the background', async () => {
    const seeded = await startServer()
    await seeded.stop()
    const store = await DocumentStore.open(seeded.dataDir)
    const at = (daysAgo: number): AuditRecord => ({
      id: `${String(Date.now() - daysAgo * 86400_000).padStart(15, '0')}-0000000${daysAgo % 10}`,
      at: Date.now() - daysAgo * 86400_000,
      tenant: 'acme',
      userId: `aged-${daysAgo}`,
      role: 'editor',
      device: null,
      address: '10.1.1.1',
      document: 'proposal/old',
      action: 'open',
      route: null,
      command: null,
      outcome: 'admitted',
      code: null,
    })
    await auditLogFor(store).append([at(40), at(31), at(29), at(1)])
    await store.close()
    const server = await startServer({ dataDir: seeded.dataDir, auditRetentionDays: 30 })
    try {
      await eventually(async () => {
        const kept = await auditLogFor(server.server.store).read('acme', { from: 0, to: Date.now(), limit: 100 })
        assert.deepEqual(kept.map((record) => record.userId), ['aged-29', 'aged-1'])
      })
    } finally {
      await server.dispose()
    }
  })
})
