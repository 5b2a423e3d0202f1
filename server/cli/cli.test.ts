import { writeField } from '../../shared/editTimes.ts'
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectGateClient, type GateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { writeFile } from 'node:fs/promises'
import { adminCli } from '../testing/adminCli.ts'

/** Runs the CLI as a subprocess, as an admin would. */
const cli = adminCli

describe('posalpro-admin against a running server', () => {
  let server: TestServer
  let admin: string[]
  const clients: GateClient[] = []
  before(async () => {
    server = await startServer()
    admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
  })
  after(async () => {
    for (const client of clients) client.destroy()
    await server.dispose()
  })

  test('review list / approve / reject, with --json, seen live by a connected client', async () => {
    const editor = await connectGateClient(server, 'proposal/cli-1')
    clients.push(editor)
    editor.map('financial').set('value', 700)
    editor.map('financial').set('discountPct', 12)
    await eventually(() => assert.equal(editor.notices.filter((n) => n.outcome === 'review').length, 2))

    const listed = await cli([...admin, '--json', 'review', 'list', '--status', 'pending'])
    assert.equal(listed.code, 0, listed.stderr)
    const items = JSON.parse(listed.stdout) as ReviewItem[]
    assert.deepEqual(items.map((item) => item.changes[0]!.path), ['financial.value', 'financial.discountPct'])

    const table = await cli([...admin, 'review', 'list'])
    assert.match(table.stdout, /^ID\s+STATUS\s+DOCUMENT/m)
    assert.match(table.stdout, /pending\s+proposal\/cli-1\s+financial-review\s+alice/)

    const approved = await cli([...admin, 'review', 'approve', items[0]!.id])
    assert.equal(approved.code, 0, approved.stderr)
    assert.equal(approved.stdout.trim(), `${items[0]!.id}: approved`)
    await eventually(() => assert.equal(editor.map('financial').get('value'), 700))

    const rejected = await cli([...admin, '--json', 'review', 'reject', items[1]!.id, '--reason', 'too generous'])
    assert.equal((JSON.parse(rejected.stdout) as ReviewItem).reason, 'too generous')
    const again = await cli([...admin, 'review', 'approve', items[1]!.id])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /ERR_REVIEW_ALREADY_DECIDED/)
  })

  test('docs history and conflicts list', async () => {
    const history = await cli([...admin, '--json', 'docs', 'history', 'proposal/cli-1', '--outcome', 'review'])
    assert.equal(history.code, 0, history.stderr)
    const events = JSON.parse(history.stdout) as Array<{ userId: string; outcome: string; ruleIds: string[] }>
    assert.deepEqual(events.map((event) => `${event.userId}:${event.outcome}:${event.ruleIds}`), ['alice:review:financial-review', 'alice:review:financial-review'])
    const table = await cli([...admin, 'docs', 'history', 'proposal/cli-1', '--limit', '2'])
    assert.equal(table.stdout.trim().split('\n').length, 4) // header, rule, 2 events
    const conflicts = await cli([...admin, '--json', 'conflicts', 'list', 'proposal/cli-1'])
    assert.deepEqual(JSON.parse(conflicts.stdout), [])
  })

  test('docs list / show online, and the same answers offline from the stopped server\'s data directory', async () => {
    const listed = await cli([...admin, '--json', 'docs', 'list'])
    assert.equal(listed.code, 0, listed.stderr)
    const documents = JSON.parse(listed.stdout) as Array<{ name: string; storedUpdates: number; connections: number; lastChange: number }>
    const doc = documents.find((d) => d.name === 'proposal/cli-1')
    assert.ok(doc && doc.storedUpdates > 0 && doc.lastChange > 0, 'doc && doc.storedUpdates > 0 && doc.lastChange > 0')
    assert.equal(doc.connections, 1)
    const shown = await cli([...admin, 'docs', 'show', 'proposal/cli-1'])
    const content = JSON.parse(shown.stdout) as { financial: Record<string, unknown>; body: string }
    assert.deepEqual(content.financial, { value: 700 })
    assert.equal(content.body, '')

    // While the server runs, its data directory is locked: the CLI says so and points to --url.
    const offline = ['--data-dir', server.dataDir, '--tenant', server.tenant]
    const locked = await cli([...offline, 'docs', 'list'])
    assert.equal(locked.code, 5)
    assert.match(locked.stderr, /locked: another server is using it; while the server runs, use --url/)

    for (const client of clients.splice(0)) client.destroy()
    await server.stop()
    const offlineList = JSON.parse((await cli([...offline, '--json', 'docs', 'list'])).stdout) as typeof documents
    assert.deepEqual(offlineList.map((d) => [d.name, d.storedUpdates]), documents.map((d) => [d.name, d.storedUpdates]))
    assert.deepEqual(JSON.parse((await cli([...offline, 'docs', 'show', 'proposal/cli-1'])).stdout), content)
    const history = JSON.parse((await cli([...offline, '--json', 'docs', 'history', 'proposal/cli-1', '--outcome', 'admin'])).stdout) as Array<{ userId: string }>
    assert.deepEqual(history.map((event) => event.userId), ['ada'])
    assert.equal((await cli(['--data-dir', server.dataDir, 'docs', 'list'])).code, 2) // --tenant missing
    server = await server.restart()
    admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
  })

  test('time travel, diff, verify (catching a corrupted stored update offline) and live clients', async () => {
    const editor = await connectGateClient(server, 'proposal/cli-1')
    clients.push(editor)
    const live = JSON.parse((await cli([...admin, '--json', 'clients'])).stdout) as Array<{ user: string; document: string }>
    assert.deepEqual(live.map((c) => `${c.user}@${c.document}`), ['alice@proposal/cli-1'])

    const events = JSON.parse((await cli([...admin, '--json', 'docs', 'history', 'proposal/cli-1', '--limit', '100'])).stdout) as Array<{ seq: number; outcome: string }>
    const held = events.find((event) => event.outcome === 'review')!
    const asProposed = JSON.parse((await cli([...admin, 'docs', 'at', 'proposal/cli-1', String(held.seq)])).stdout) as { financial: object }
    assert.deepEqual(asProposed.financial, { value: 700 })
    const compensated = JSON.parse((await cli([...admin, 'docs', 'at', 'proposal/cli-1', String(held.seq + 1)])).stdout) as { financial: object }
    assert.deepEqual(compensated.financial, {})
    const diff = JSON.parse((await cli([...admin, '--json', 'docs', 'diff', 'proposal/cli-1', String(held.seq), String(held.seq + 1)])).stdout)
    assert.deepEqual(diff, [{ path: 'financial.value', before: 700 }])
    const tooFar = await cli([...admin, 'docs', 'at', 'proposal/cli-1', '99999'])
    assert.equal(tooFar.code, 2)
    assert.match(tooFar.stderr, /has no event 99999/)

    const verified = await cli([...admin, 'docs', 'verify', '--all'])
    assert.equal(verified.code, 0, verified.stdout)
    assert.match(verified.stdout, /proposal\/cli-1\s+ok/)

    // Corrupt one stored update of the stopped server's data directory: verify must say so.
    editor.destroy()
    clients.splice(0)
    await server.stop()
    const store = await DocumentStore.open(server.dataDir)
    const updates = await store.loadUpdates(`${server.tenant}/proposal/cli-1`)
    await (store as unknown as { persistence: { _transact(f: (db: { put(k: unknown, v: unknown): Promise<void> }) => Promise<void>): Promise<void> } }).persistence._transact((db) =>
      db.put(['v1', `${server.tenant}/proposal/cli-1`, 'update', updates.length], Buffer.from([1, 200, 200, 200, 7])),
    )
    await store.close()
    const broken = await cli(['--data-dir', server.dataDir, '--tenant', server.tenant, '--json', 'docs', 'verify', 'proposal/cli-1'])
    assert.equal(broken.code, 1)
    const [report] = JSON.parse(broken.stdout) as Array<{ ok: boolean; problems: string[] }>
    assert.equal(report!.ok, false)
    assert.match(report!.problems.join('\n'), /stored update #\d+ is damaged: ERR_UPDATE_COUNTS_OUT_OF_RANGE|stored update #\d+ is damaged: ERR_MALFORMED_UPDATE/)
    server = await server.restart()
    admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
    // The server refuses to serve the damaged document instead of decoding the garbage.
    const shown = await cli([...admin, 'docs', 'show', 'proposal/cli-1'])
    assert.equal(shown.code, 1)
    assert.match(shown.stderr, /ERR_PERSISTENCE_FAILED: stored update #\d+ of acme\/proposal\/cli-1 is damaged/)
  })

  test('docs revert restores an earlier state as an audited change that connected clients see live', async () => {
    const room = 'proposal/cli-revert'
    const manager = await connectGateClient(server, room, { user: 'max', role: 'manager' })
    clients.push(manager)
    // Fields written with their times, as the app writes them (a write without one gets an extra server change).
    writeField(manager.map('meta'), 'title', 'Original')
    manager.doc.getXmlFragment('body').insert(0, [new Y.XmlText('First draft.')])
    await eventually(async () => {
      const events = JSON.parse((await cli([...admin, '--json', 'docs', 'history', room])).stdout) as unknown[]
      assert.equal(events.length, 2)
    })
    writeField(manager.map('meta'), 'title', 'Vandalised')
    writeField(manager.map('meta'), 'currency', 'EUR')
    ;(manager.doc.getXmlFragment('body').get(0) as Y.XmlText).insert(0, 'XXX ')
    await eventually(() => assert.equal(manager.doc.getXmlFragment('body').toString(), 'XXX First draft.'))
    await eventually(async () => {
      const events = JSON.parse((await cli([...admin, '--json', 'docs', 'history', room])).stdout) as unknown[]
      assert.equal(events.length, 5)
    })
    const reverted = await cli([...admin, 'docs', 'revert', room, '2'])
    assert.equal(reverted.code, 0, reverted.stderr)
    // The fields' times go back with them.
    assert.match(reverted.stdout, /reverted to event 2: meta.currency, meta.title, editedAt.meta.currency, editedAt.meta.title, body/)
    await eventually(() => {
      assert.deepEqual(manager.map('meta').toJSON(), { title: 'Original' })
      assert.equal(manager.doc.getXmlFragment('body').toString(), 'First draft.')
    })
    const last = (JSON.parse((await cli([...admin, '--json', 'docs', 'history', room])).stdout) as Array<{ userId: string; outcome: string; ruleIds: string[] }>).at(-1)
    assert.deepEqual([last?.userId, last?.outcome, last?.ruleIds], ['ada', 'admin', ['revert']])
    assert.equal((await cli([...admin, 'docs', 'revert', room, '999'])).code, 1)
  })

  test('export, import --as (online and offline) and compact', async () => {
    const files = await tempDir('posalpro-cli-')
    try {
      const exported = path.join(files.path, 'revert.json')
      const out = await cli([...admin, 'docs', 'export', 'proposal/cli-revert', '-o', exported])
      assert.equal(out.code, 0, out.stderr)
      const imported = await cli([...admin, 'docs', 'import', exported, '--as', 'proposal/cli-copy'])
      assert.equal(imported.code, 0, imported.stderr)
      const copy = JSON.parse((await cli([...admin, 'docs', 'show', 'proposal/cli-copy'])).stdout) as { meta: object; body: string }
      assert.deepEqual(copy, JSON.parse((await cli([...admin, 'docs', 'show', 'proposal/cli-revert'])).stdout))
      assert.equal(copy.body, 'First draft.')
      const wrongType = await cli([...admin, 'docs', 'import', exported, '--as', 'customer/c-9'])
      assert.equal(wrongType.code, 2)
      const notAnExport = path.join(files.path, 'bad.json')
      await writeFile(notAnExport, '{"hello": 1}')
      assert.equal((await cli([...admin, 'docs', 'import', notAnExport])).code, 2)

      const compacted = await cli([...admin, 'docs', 'compact', '--all'])
      assert.equal(compacted.code, 1) // one document (cli-1) was deliberately corrupted above
      const one = await cli([...admin, 'docs', 'compact', 'proposal/cli-revert'])
      assert.equal(one.code, 0, one.stderr)
      const listed = JSON.parse((await cli([...admin, '--json', 'docs', 'list'])).stdout) as Array<{ name: string; storedUpdates: number }>
      assert.equal(listed.find((d) => d.name === 'proposal/cli-revert')?.storedUpdates, 1)

      // Offline: import into the stopped server's data directory, then the server serves it.
      for (const client of clients.splice(0)) client.destroy()
      await server.stop()
      const offline = await cli(['--data-dir', server.dataDir, '--tenant', server.tenant, 'docs', 'import', exported, '--as', 'proposal/cli-offline'])
      assert.equal(offline.code, 0, offline.stderr)
      server = await server.restart()
      admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
      const served = JSON.parse((await cli([...admin, 'docs', 'show', 'proposal/cli-offline'])).stdout) as { body: string }
      assert.equal(served.body, 'First draft.')
    } finally {
      await files.remove()
    }
  })

  test('offline, on the stopped server\'s data directory: review decisions and revert, served after restart', async () => {
    const room = 'proposal/cli-offline-review'
    const editor = await connectGateClient(server, room)
    clients.push(editor)
    // Fields written with their times, as the app writes them (a write without one gets an extra server change).
    writeField(editor.map('meta'), 'dueDate', '2027-01-01')
    writeField(editor.map('financial'), 'value', 4200)
    const reviewId = await eventually(() => {
      const held = editor.notices.find((n) => n.outcome === 'review')
      assert.ok(held?.reviewId, 'held?.reviewId')
      return held.reviewId
    })
    writeField(editor.map('meta'), 'dueDate', '2027-02-02')
    await eventually(async () => assert.equal((await server.server.store.readEvents(`${server.tenant}/${room}`)).length, 4))
    for (const client of clients.splice(0)) client.destroy()
    await server.stop()

    const offline = ['--data-dir', server.dataDir, '--tenant', server.tenant]
    const pending = JSON.parse((await cli([...offline, '--json', 'review', 'list', '--status', 'pending'])).stdout) as ReviewItem[]
    assert.ok(pending.some((item) => item.id === reviewId), 'pending.some((item) => item.id === reviewId)')
    const approved = await cli([...offline, 'review', 'approve', reviewId])
    assert.equal(approved.code, 0, approved.stderr)
    assert.equal(approved.stdout.trim(), `${reviewId}: approved`)
    const reverted = await cli([...offline, 'docs', 'revert', room, '1']) // back to the first due date
    assert.equal(reverted.code, 0, reverted.stderr)
    const verified = await cli([...offline, 'docs', 'verify', room])
    assert.equal(verified.code, 0, verified.stdout)

    server = await server.restart()
    admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
    const served = JSON.parse((await cli([...admin, 'docs', 'show', room])).stdout) as { meta: object; financial: object }
    assert.deepEqual(served.meta, { dueDate: '2027-01-01' })
    assert.deepEqual(served.financial, {}) // the revert to event 1 also undid the approved value
    const history = JSON.parse((await cli([...admin, '--json', 'docs', 'history', room])).stdout) as Array<{ outcome: string; ruleIds: string[]; userId: string }>
    assert.deepEqual(history.slice(-2).map((e) => `${e.outcome}:${e.ruleIds}`), ['admin:financial-review', 'admin:revert'])
    assert.match(history.at(-1)!.userId, /^posalpro-admin:/)
  })

  test('exit codes: usage 2, not an admin 3, unreachable 4, help 0', async () => {
    const noToken = await cli(['--url', server.httpUrl, 'review', 'list'], { POSALPRO_ADMIN_TOKEN: '' })
    assert.equal(noToken.code, 2)
    assert.match(noToken.stderr, /admin token is needed/)
    const editor = await cli(['--url', server.httpUrl, '--token', await server.token({ role: 'editor' }), 'review', 'list'])
    assert.equal(editor.code, 3)
    assert.match(editor.stderr, /ERR_ADMIN_ONLY/)
    const badName = await cli([...admin, 'docs', 'history', 'invoice/1'])
    assert.equal(badName.code, 2)
    assert.match(badName.stderr, /ERR_UNKNOWN_DOCUMENT_TYPE/)
    const unreachable = await cli(['--url', 'http://127.0.0.1:9', '--token', 'x', 'review', 'list'])
    assert.equal(unreachable.code, 4)
    const unknown = await cli([...admin, 'frobnicate'])
    assert.equal(unknown.code, 2)
    const help = await cli(['review', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /approve/)
  })
})
