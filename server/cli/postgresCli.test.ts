import { readTextField } from '../../shared/documentModel.ts'
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { startPostgres } from '../../shared/testing/postgresInstance.ts'
import type { VerificationReport } from '../admin/documentVerification.ts'
import type { DocumentSummary } from '../persistence/documentSummaries.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { adminCli } from '../testing/adminCli.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { connectGateClient } from '../testing/gateClients.ts'
import { startServer } from '../testing/startServer.ts'

test('copy-to-postgres: a LevelDB directory written by a real server is copied and verified, a non-empty target refused; the offline CLI and a server then work on PostgreSQL', async (t) => {
  const postgres = await startPostgres()
  t.after(() => postgres.stop())

  // A real server on LevelDB: content, a refused change and its compensation, a decided review.
  const leveldb = await startServer({ eventRetentionDays: 30 })
  t.after(() => leveldb.dispose())
  const editor = await connectGateClient(leveldb, 'proposal/copy-1')
  editor.map('meta').set('title', 'Copied')
  editor.map('meta').set('title', 'x'.repeat(201))
  editor.map('financial').set('value', 12_000)
  const reviewId = await eventually(() => {
    assert.ok(editor.notices.some((notice) => notice.ruleId === 'schema'), JSON.stringify(editor.notices))
    const held = editor.notices.find((notice) => notice.outcome === 'review')
    assert.ok(held?.reviewId, JSON.stringify(editor.notices))
    return held.reviewId
  })
  const other = await connectGateClient(leveldb, 'customer/copy-2')
  other.map('fields').set('name', 'Acme Corp')
  await eventually(async () => assert.ok((await leveldb.server.store.documentNames()).includes('acme/customer/copy-2'), 'the customer is stored'))
  editor.destroy()
  other.destroy()
  const admin = await leveldb.token({ user: 'ada', role: 'admin' })
  assert.equal((await adminRequest<ReviewItem>(leveldb, admin, 'POST', `/reviews/${reviewId}/reject`, { reason: 'no' })).body.status, 'rejected')
  await leveldb.stop()

  const copied = await adminCli(['copy-to-postgres', '--from-data-dir', leveldb.dataDir, '--to-postgres-url', postgres.url])
  assert.equal(copied.code, 0, copied.stderr)
  assert.match(copied.stderr, /^copied 1\/2 acme\/customer\/copy-2$/m)
  assert.match(copied.stderr, /^copied 2\/2 acme\/proposal\/copy-1$/m)
  // Two notifications: the refused title's (change-rejected) and the decided review's.
  assert.match(copied.stdout, /^copied and verified 2 documents, \d+ events, 1 review items, 2 notifications$/m)

  const again = await adminCli(['copy-to-postgres', '--from-data-dir', leveldb.dataDir, '--to-postgres-url', postgres.url])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /ERR_TARGET_NOT_EMPTY/)

  // The offline commands against PostgreSQL, as against the data directory.
  const offline = ['--postgres-url', postgres.url, '--tenant', 'acme', '--json']
  const [fromLevelDb, fromPostgres] = await Promise.all([
    adminCli(['--data-dir', leveldb.dataDir, '--tenant', 'acme', '--json', 'docs', 'list']),
    adminCli([...offline, 'docs', 'list']),
  ])
  assert.equal(fromPostgres.code, 0, fromPostgres.stderr)
  const listed = (JSON.parse(fromPostgres.stdout) as DocumentSummary[]).map(({ name, lastChange }) => ({ name, lastChange }))
  assert.deepEqual(listed, (JSON.parse(fromLevelDb.stdout) as DocumentSummary[]).map(({ name, lastChange }) => ({ name, lastChange })))
  const verified = await adminCli([...offline, 'docs', 'verify', '--all'])
  assert.equal(verified.code, 0, verified.stdout + verified.stderr)
  assert.ok((JSON.parse(verified.stdout) as VerificationReport[]).every((report) => report.ok), '(JSON.parse(verified.stdout) as VerificationReport[]).every((report) => repor...')
  const reviews = await adminCli([...offline, 'review', 'list'])
  assert.deepEqual((JSON.parse(reviews.stdout) as ReviewItem[]).map((item) => [item.id, item.status]), [[reviewId, 'rejected']])
  const shown = await adminCli([...offline, 'docs', 'show', 'proposal/copy-1'])
  assert.equal((JSON.parse(shown.stdout) as { meta: { title: string } }).meta.title, 'Copied')

  // A server on the copy: the documents, the event log and the proposer's notification are there.
  const onPostgres = await startServer({ postgresUrl: postgres.url })
  t.after(() => onPostgres.dispose())
  const reader = await onPostgres.connect('proposal/copy-1')
  t.after(() => reader.destroy())
  await reader.whenSynced()
  // Loading the document, the server moves the legacy `meta.title` into its text root: either form.
  await eventually(() => assert.equal(readTextField(reader.doc, 'proposal', 'title'), 'Copied'))
  reader.destroy()
  const response = await fetch(`${onPostgres.httpUrl}/api/notifications`, { headers: { authorization: `Bearer ${await onPostgres.token()}` } })
  const notifications = (await response.json()) as { notifications: Array<{ kind: string; detail: { reviewId: string; outcome: string } }> }
  assert.deepEqual(
    notifications.notifications.filter((n) => n.kind === 'review-decided').map((n) => [n.detail.reviewId, n.detail.outcome]),
    [[reviewId, 'rejected']],
  )
  assert.deepEqual(notifications.notifications.map((n) => n.kind).sort(), ['change-rejected', 'review-decided'], 'the refused title was told too')
  const doc = new Y.Doc()
  for (const update of await onPostgres.server.store.loadUpdates('acme/proposal/copy-1')) Y.applyUpdate(doc, update)
  assert.equal(doc.getMap('financial').get('value'), undefined, 'the held value was compensated and stays so')
})
