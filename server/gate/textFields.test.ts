import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { readTextField } from '../../shared/documentModel.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { gateClientPool, type GateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

/**
 * Free-text fields are plain-text roots: concurrent typing merges character by character, the gate
 * checks and compensates them like any field, and documents stored with the legacy map keys are
 * moved over by the server (only the server) when it loads them.
 */

const storedDoc = async (server: TestServer, room: string): Promise<Y.Doc> => {
  const doc = new Y.Doc()
  for (const update of await server.server.store.loadUpdates(`${server.tenant}/${room}`)) Y.applyUpdate(doc, update)
  return doc
}

const text = (client: { doc: Y.Doc }, root: string): string => client.doc.getText(root).toString()

describe('free-text fields as plain-text roots', () => {
  let server: TestServer
  const clients = gateClientPool()
  const open = (room: string, user: Parameters<typeof clients.open>[2] = {}) => clients.open(server, room, user)
  before(async () => {
    server = await startServer()
  })
  after(async () => {
    clients.destroyAll()
    await server.dispose()
  })

  /** The actor is told `ruleId` on `path`; actor, observer and disk all hold `expected`. */
  const expectRestored = async (room: string, actor: GateClient, observer: GateClient, root: string, expected: string, ruleId: string) => {
    await eventually(() => {
      const notice = actor.notices.find((n) => n.ruleId === ruleId && n.path === root)
      assert.ok(notice, `no ${ruleId} notice on ${root}; got ${JSON.stringify(actor.notices)}`)
      assert.equal(notice.outcome, 'rejected')
      assert.equal(text(actor, root), expected)
      assert.equal(text(observer, root), expected)
      assert.deepEqual(actor.doc.getText(root).toDelta(), expected === '' ? [] : [{ insert: expected }])
    })
    const stored = await storedDoc(server, room)
    assert.equal(stored.getText(root).toString(), expected)
    assert.deepEqual(stored.getText(root).toDelta(), expected === '' ? [] : [{ insert: expected }])
  }

  test('two people typing in one title at once: both runs are kept, merged, and nobody is told of a conflict', async () => {
    const room = 'proposal/t-merge'
    const alice = await open(room)
    const bob = await open(room, { user: 'bob' })
    alice.doc.getText('title').insert(0, 'Fleet renewal')
    await eventually(() => assert.equal(text(bob, 'title'), 'Fleet renewal'))
    // Interleaved keystrokes, each sent before the other's arrives.
    for (let index = 1; index <= 3; index++) {
      alice.doc.getText('title').insert(alice.doc.getText('title').length, ` A${index}`)
      bob.doc.getText('title').insert(bob.doc.getText('title').length, ` B${index}`)
    }
    await eventually(() => {
      assert.equal(text(alice, 'title'), text(bob, 'title'))
      const merged = text(alice, 'title')
      assert.ok(merged.startsWith('Fleet renewal'), `the start is lost: ${merged}`)
      for (const run of [' A1', ' A2', ' A3', ' B1', ' B2', ' B3']) assert.ok(merged.includes(run), `${run} lost: ${merged}`)
    })
    assert.equal((await storedDoc(server, room)).getText('title').toString(), text(alice, 'title'))
    assert.deepEqual([...alice.notices, ...bob.notices].filter((n) => n.outcome === 'conflict'), [])
  })

  test('schema: a title over 200 characters is refused and the text is exactly as before', async () => {
    const room = 'proposal/t-long'
    const editor = await open(room)
    const observer = await open(room, { user: 'olga', role: 'manager' })
    editor.doc.getText('title').insert(0, 'Short title')
    await eventually(() => assert.equal(text(observer, 'title'), 'Short title'))
    editor.doc.getText('title').insert(5, 'x'.repeat(190))
    await expectRestored(room, editor, observer, 'title', 'Short title', 'schema')
    // The restore is a minimal splice: the characters that stayed are the ones typed, so a concurrent
    // edit anchored to them still lands (editing on goes on from the same items).
    editor.doc.getText('title').insert(11, '!')
    await eventually(() => assert.equal(text(observer, 'title'), 'Short title!'))
  })

  test('schema: an embed, a formatting attribute, a nested type or a keyed entry in a text root is refused', async () => {
    const room = 'content/t-structured'
    const editor = await open(room)
    const observer = await open(room, { user: 'olga', role: 'manager' })
    editor.doc.getText('category').insert(0, 'Terms')
    await eventually(() => assert.equal(text(observer, 'category'), 'Terms'))
    const attempts: Array<[string, (ytext: Y.Text) => void]> = [
      ['an embed', (ytext) => ytext.insertEmbed(2, { image: 'x.png' })],
      ['formatting attributes', (ytext) => ytext.format(0, 3, { bold: true })],
      ['formatting attributes', (ytext) => ytext.insert(5, ' bold', { bold: true })],
      ['a nested type', (ytext) => ytext.insertEmbed(1, new Y.Map())],
      ['keyed entries', (ytext) => Y.XmlText.prototype.setAttribute.call(ytext as Y.XmlText, 'hidden', 'value')],
    ]
    for (const [what, attempt] of attempts) {
      const before = editor.notices.length
      attempt(editor.doc.getText('category'))
      await eventually(() => {
        const notice = editor.notices.slice(before).find((n) => n.ruleId === 'schema' && n.path === 'category')
        assert.ok(notice, `no schema notice for ${what}; got ${JSON.stringify(editor.notices.slice(before))}`)
        assert.match(notice.message, new RegExp(what))
        assert.deepEqual(editor.doc.getText('category').toDelta(), [{ insert: 'Terms' }])
        assert.deepEqual(observer.doc.getText('category').toDelta(), [{ insert: 'Terms' }])
      })
    }
    const stored = await storedDoc(server, room)
    assert.deepEqual(stored.getText('category').toDelta(), [{ insert: 'Terms' }])
    for (const item of stored.getText('category')._map.values()) assert.ok(item.deleted, 'a keyed entry survived')
  })

  test("read-only: a viewer's text edit is not applied and the viewer is told", async () => {
    const room = 'proposal/t-viewer'
    const editor = await open(room)
    editor.doc.getText('title').insert(0, 'Editor title')
    const viewer = await open(room, { user: 'vera', role: 'viewer' })
    await eventually(() => assert.equal(text(viewer, 'title'), 'Editor title'))
    viewer.doc.getText('title').insert(0, 'Viewer was here: ')
    await eventually(() => assert.ok(viewer.notices.some((n) => n.ruleId === 'read-only' && n.outcome === 'rejected'), 'no read-only notice'))
    editor.doc.getText('title').insert(12, '!')
    await eventually(() => assert.equal(server.server.rooms.find(server.tenant, room)?.doc.getText('title').toString(), 'Editor title!'))
    assert.equal(text(editor, 'title'), 'Editor title!')
    assert.equal((await storedDoc(server, room)).getText('title').toString(), 'Editor title!')
  })

  test("customer-required: a customer's name emptied or made blank is restored", async () => {
    const room = 'customer/t-name'
    const editor = await open(room)
    const observer = await open(room, { user: 'olga', role: 'manager' })
    editor.doc.getText('name').insert(0, 'ACME')
    await eventually(() => assert.equal(text(observer, 'name'), 'ACME'))
    editor.doc.getText('name').delete(0, 4)
    await expectRestored(room, editor, observer, 'name', 'ACME', 'customer-required')
    editor.doc.transact(() => {
      editor.doc.getText('name').delete(0, 4)
      editor.doc.getText('name').insert(0, '   ')
    })
    await eventually(() => assert.equal(editor.notices.filter((n) => n.ruleId === 'customer-required').length, 2))
    await expectRestored(room, editor, observer, 'name', 'ACME', 'customer-required')
    // Typing over the name is fine.
    editor.doc.transact(() => {
      editor.doc.getText('name').delete(0, 4)
      editor.doc.getText('name').insert(0, 'Globex')
    })
    await eventually(() => assert.equal(text(observer, 'name'), 'Globex'))
  })
})

describe('documents stored with the legacy map keys', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  test('the server moves them into the text roots on load, as one recorded change that survives a restart', async () => {
    const original = await startServer()
    cleanups.push(() => original.dispose())
    const room = 'customer/t-legacy'
    // Stored in the legacy form, as a client from before the change wrote it.
    const writer = await original.connect(room, { ext: true })
    await writer.whenSynced()
    writer.doc.transact(() => {
      const fields = writer.doc.getMap('fields')
      fields.set('name', 'ACME Corp')
      fields.set('address', '1 Main St')
      fields.set('email', 'info@acme.test')
    })
    await eventually(async () => assert.equal((await storedDoc(original, room)).getMap('fields').get('address'), '1 Main St'))
    writer.destroy()
    let server = await original.restart()
    cleanups.push(() => server.stop())

    const reader = await server.connect(room)
    await reader.whenSynced()
    await eventually(() => {
      assert.equal(text(reader, 'name'), 'ACME Corp')
      assert.equal(text(reader, 'address'), '1 Main St')
      assert.equal(reader.doc.getMap('fields').get('name'), undefined)
      assert.equal(reader.doc.getMap('fields').get('address'), undefined)
      assert.equal(reader.doc.getMap('fields').get('email'), 'info@acme.test')
    })
    const events = await server.server.store.readEvents(`${server.tenant}/${room}`)
    const moved = events.filter((event) => event.ruleIds.includes('legacy-text'))
    assert.equal(moved.length, 1)
    assert.equal(moved[0]!.outcome, 'admin')
    assert.equal(moved[0]!.userId, 'server')
    assert.deepEqual([...moved[0]!.paths].sort(), ['address', 'fields.address', 'fields.name', 'name'])
    // The event log rebuilds exactly what is stored.
    const rebuilt = new Y.Doc()
    for (const event of events) if (event.applied) Y.applyUpdate(rebuilt, event.update)
    assert.equal(readTextField(rebuilt, 'customer', 'name'), 'ACME Corp')
    assert.equal(rebuilt.getMap('fields').get('name'), undefined)
    reader.destroy()

    // Stored, not redone: after another restart it is there and nothing new is recorded.
    server = await server.restart()
    cleanups.push(() => server.stop())
    const again = await server.connect(room)
    await again.whenSynced()
    assert.equal(text(again, 'name'), 'ACME Corp')
    assert.equal(again.doc.getMap('fields').get('name'), undefined)
    assert.equal((await server.server.store.readEvents(`${server.tenant}/${room}`)).filter((event) => event.ruleIds.includes('legacy-text')).length, 1)
    again.destroy()
  })

  test('a legacy-key write by a client that had not synced since the move is folded into the text root', async () => {
    const original = await startServer()
    cleanups.push(() => original.dispose())
    const room = 'proposal/t-fold'
    const writer = await original.connect(room)
    await writer.whenSynced()
    writer.doc.getMap('meta').set('title', 'Old title')
    await eventually(async () => assert.equal((await storedDoc(original, room)).getMap('meta').get('title'), 'Old title'))
    // The writer goes offline with the legacy form and edits there.
    const offline = new Y.Doc()
    Y.applyUpdate(offline, Y.encodeStateAsUpdate(writer.doc))
    writer.destroy()
    offline.getMap('meta').set('title', 'Renamed offline')

    const server = await original.restart()
    cleanups.push(() => server.stop())
    const clients = gateClientPool()
    cleanups.push(() => clients.destroyAll())
    const observer = await clients.open(server, room, { user: 'olga' })
    await eventually(() => assert.equal(text(observer, 'title'), 'Old title'))
    const returning = await clients.open(server, room, { doc: offline })
    await eventually(() => {
      for (const client of [observer, returning]) {
        assert.equal(text(client, 'title'), 'Renamed offline')
        assert.equal(client.doc.getMap('meta').get('title'), undefined)
      }
    })
    const stored = await storedDoc(server, room)
    assert.equal(stored.getText('title').toString(), 'Renamed offline')
    assert.equal(stored.getMap('meta').get('title'), undefined)
    const events = await server.server.store.readEvents(`${server.tenant}/${room}`)
    assert.equal(events.filter((event) => event.ruleIds.includes('legacy-text')).length, 2, 'the move on load and the fold')
    assert.deepEqual(returning.notices.filter((n) => n.outcome === 'conflict'), [])
  })
})
