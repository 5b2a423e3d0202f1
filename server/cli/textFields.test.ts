import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { adminCli } from '../testing/adminCli.ts'

/**
 * The CLI reads free-text fields in their new form (text roots) and in the legacy one, and its
 * history tells the server's move from one to the other.
 */
describe('posalpro-admin and free-text fields', () => {
  let server: TestServer
  let admin: string[]
  const clients = gateClientPool()
  before(async () => {
    server = await startServer()
    admin = ['--url', server.httpUrl, '--token', await server.token({ user: 'ada', role: 'admin' })]
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  test('docs show / at / diff / list of a document whose title is a text root', async () => {
    const room = 'proposal/cli-text'
    const editor = await clients.open(server, room)
    editor.doc.getText('title').insert(0, 'Fleet renewal')
    await eventually(() => assert.equal(editor.durableMessages() >= 1, true, 'first edit durable'))
    editor.doc.getText('title').insert(5, ' fleet')
    await eventually(async () => {
      const shown = JSON.parse((await adminCli([...admin, 'docs', 'show', room])).stdout) as Record<string, unknown>
      assert.equal(shown.title, 'Fleet fleet renewal')
    })
    const events = JSON.parse((await adminCli([...admin, '--json', 'docs', 'history', room])).stdout) as Array<{ seq: number; paths: string[] }>
    assert.deepEqual(events.map((event) => event.paths), [['title'], ['title']])
    const first = JSON.parse((await adminCli([...admin, 'docs', 'at', room, String(events[0]!.seq)])).stdout) as Record<string, unknown>
    assert.equal(first.title, 'Fleet renewal')
    const diff = await adminCli([...admin, '--json', 'docs', 'diff', room, String(events[0]!.seq), String(events[1]!.seq)])
    assert.equal(diff.code, 0, diff.stderr)
    assert.deepEqual(JSON.parse(diff.stdout), [{ path: 'title', before: 'Fleet renewal', after: 'Fleet fleet renewal' }])
    const listed = JSON.parse((await adminCli([...admin, '--json', 'docs', 'list'])).stdout) as Array<{ name: string; title: string }>
    assert.equal(listed.find((doc) => doc.name === room)?.title, 'Fleet fleet renewal')
    const table = await adminCli([...admin, 'docs', 'list', '--type', 'proposal'])
    assert.match(table.stdout, /^NAME\s+TYPE\s+TITLE\s+BYTES/m)
    assert.match(table.stdout, /proposal\/cli-text\s+proposal\s+Fleet fleet renewal\s/)
    // Revert brings the text root back with one splice, live: the connected editor sees it.
    const reverted = await adminCli([...admin, '--json', 'docs', 'revert', room, String(events[0]!.seq)])
    assert.equal(reverted.code, 0, reverted.stderr)
    assert.deepEqual((JSON.parse(reverted.stdout) as { paths: string[] }).paths, ['title'])
    await eventually(() => assert.equal(editor.doc.getText('title').toString(), 'Fleet renewal'))
  })

  test('a legacy customer name: listed by it before the move; the move shows in history and diff; verify agrees', async () => {
    const room = 'customer/cli-legacy'
    const writer = await clients.open(server, room)
    writer.map('fields').set('name', 'ACME Corp')
    await eventually(() => assert.equal(writer.durableMessages() >= 1, true, 'the legacy name is durable'))
    writer.destroy()
    const before = JSON.parse((await adminCli([...admin, '--json', 'docs', 'list', '--type', 'customer'])).stdout) as Array<{ name: string; title: string }>
    assert.equal(before.find((doc) => doc.name === room)?.title, 'ACME Corp')
    // The room unloads once nobody is in it; the next load moves the name.
    await eventually(() => assert.equal(server.server.rooms.find(server.tenant, room), undefined))
    const reader = await clients.open(server, room, { user: 'olga' })
    await eventually(() => assert.equal(reader.doc.getText('name').toString(), 'ACME Corp'))
    const events = JSON.parse((await adminCli([...admin, '--json', 'docs', 'history', room])).stdout) as Array<{ seq: number; outcome: string; ruleIds: string[]; paths: string[] }>
    const moved = events.at(-1)!
    assert.deepEqual([moved.outcome, moved.ruleIds, moved.paths], ['admin', ['legacy-text'], ['fields.name', 'name']])
    const diff = JSON.parse((await adminCli([...admin, '--json', 'docs', 'diff', room, String(moved.seq - 1), String(moved.seq)])).stdout) as unknown
    // Its title reads the same on both sides: only where it is stored changed.
    assert.deepEqual(diff, [{ path: 'fields.name', before: 'ACME Corp' }])
    const shown = JSON.parse((await adminCli([...admin, 'docs', 'show', room])).stdout) as { name: string; fields: Record<string, unknown> }
    assert.deepEqual([shown.name, shown.fields], ['ACME Corp', {}])
    const verified = await adminCli([...admin, 'docs', 'verify', room])
    assert.equal(verified.code, 0, verified.stdout + verified.stderr)
  })
})
