import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import { gateClientPool, type GateClient } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

const storedValue = async (server: TestServer, room: string, root: string, key: string) => {
  const stored = await server.server.store.loadUpdates(`${server.tenant}/${room}`)
  const doc = new Y.Doc()
  for (const update of stored) Y.applyUpdate(doc, update)
  return doc.getMap(root).get(key)
}

describe('the validation gate through real connections', () => {
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

  /**
   * The shape of every rule test: `actor` makes a change; the server rejects (or holds) exactly it;
   * the actor gets one notice naming the rule; both the actor and an observer converge on the
   * compensated value, and that is what is on disk.
   */
  const expectCompensated = async (
    room: string,
    actor: GateClient,
    observer: GateClient,
    [root, key]: [string, string],
    expected: unknown,
    ruleId: string,
    outcome: 'rejected' | 'review' = 'rejected',
  ) => {
    await eventually(() => {
      const notice = actor.notices.find((n) => n.ruleId === ruleId && n.path === `${root}.${key}`)
      assert.ok(notice, `no ${ruleId} notice; got ${JSON.stringify(actor.notices)}`)
      assert.equal(notice.outcome, outcome)
      assert.deepEqual(actor.map(root).get(key), expected)
      assert.deepEqual(observer.map(root).get(key), expected)
    })
    assert.deepEqual(await storedValue(server, room, root, key), expected)
  }

  test('schema: a title over 200 characters is reverted; a valid one is kept', async () => {
    const editor = await open('proposal/g-schema')
    const observer = await open('proposal/g-schema', { user: 'olga', role: 'manager' })
    editor.map('meta').set('title', 'Valid title')
    await eventually(() => assert.equal(observer.map('meta').get('title'), 'Valid title'))
    editor.map('meta').set('title', 'x'.repeat(201))
    await expectCompensated('proposal/g-schema', editor, observer, ['meta', 'title'], 'Valid title', 'schema')
    editor.map('meta').set('currency', 'euro')
    await expectCompensated('proposal/g-schema', editor, observer, ['meta', 'currency'], undefined, 'schema')
    // Garbage in validated paths: a wrong type, a bad enum value, an unknown field — a rejection, not a crash.
    editor.map('meta').set('title', 42)
    await expectCompensated('proposal/g-schema', editor, observer, ['meta', 'title'], 'Valid title', 'schema')
    editor.map('financial').set('value', 'a lot')
    await expectCompensated('proposal/g-schema', editor, observer, ['financial', 'value'], undefined, 'schema')
    editor.map('meta').set('favouriteColour', { nested: [1, 2, 3] })
    await expectCompensated('proposal/g-schema', editor, observer, ['meta', 'favouriteColour'], undefined, 'schema')
  })

  test('status-transition and approved-is-final; approver-role with its cross-reference', async () => {
    const room = 'proposal/g-status'
    const editor = await open(room)
    const manager = await open(room, { user: 'max', role: 'manager' })
    editor.map('meta').set('status', 'won')
    await expectCompensated(room, editor, manager, ['meta', 'status'], undefined, 'status-transition')
    editor.map('meta').set('status', 'draft')
    editor.map('meta').set('status', 'in_review')
    await eventually(() => assert.equal(manager.map('meta').get('status'), 'in_review'))
    // An editor may not approve.
    editor.map('meta').set('status', 'approved')
    await expectCompensated(room, editor, manager, ['meta', 'status'], 'in_review', 'approver-role')
    // A manager may, but only with a value and an existing customer of the same tenant.
    manager.map('financial').set('value', 50_000)
    manager.map('meta').set('customerId', 'c-missing')
    manager.map('meta').set('status', 'approved')
    await expectCompensated(room, manager, editor, ['meta', 'status'], 'in_review', 'approver-role')
    const customer = await open('customer/c-real', { user: 'cora' })
    customer.map('fields').set('name', 'Real Customer Ltd')
    await eventually(() => assert.ok(server.server.rooms.find(server.tenant, room)?.documentExists('customer/c-real'), 'server.server.rooms.find(server.tenant, room)?.documentExists(\'customer/c-real\')'))
    manager.map('meta').set('customerId', 'c-real')
    manager.map('meta').set('status', 'approved')
    await eventually(() => assert.equal(editor.map('meta').get('status'), 'approved'))
    assert.equal(await storedValue(server, room, 'meta', 'status'), 'approved')
    // Approved is final: an editor cannot move it back.
    editor.map('meta').set('status', 'draft')
    await expectCompensated(room, editor, manager, ['meta', 'status'], 'approved', 'approved-is-final')
    // What approving required keeps holding: the customer stays (changed by an admin only, to an
    // existing one), the value stays > 0 (also for an admin).
    editor.map('meta').set('customerId', 'c-other')
    await expectCompensated(room, editor, manager, ['meta', 'customerId'], 'c-real', 'approver-role')
    const admin = await open(room, { user: 'ada', role: 'admin' })
    admin.map('meta').delete('customerId')
    await expectCompensated(room, admin, manager, ['meta', 'customerId'], 'c-real', 'approver-role')
    admin.map('financial').set('value', 0)
    await expectCompensated(room, admin, manager, ['financial', 'value'], 50_000, 'approver-role')
  })

  test('an offline editor moves an approved proposal back to draft while a manager approves online', async () => {
    const room = 'proposal/g-offline'
    const customer = await open('customer/c-offline', { user: 'cora' })
    customer.map('fields').set('name', 'Offline Customer')
    // Yjs lets the higher client id win a concurrent map write: give it to the editor, so its
    // offline "draft" really overwrites the approval and the gate has to undo it.
    const managerDoc = new Y.Doc()
    managerDoc.clientID = 1
    const editorDoc = new Y.Doc()
    editorDoc.clientID = 2 ** 31
    const manager = await open(room, { user: 'max', role: 'manager', doc: managerDoc })
    const editor = await open(room, { doc: editorDoc })
    await eventually(() => assert.ok(server.server.rooms.find(server.tenant, room)?.documentExists('customer/c-offline'), 'server.server.rooms.find(server.tenant, room)?.documentExists(\'customer/c-off...'))
    editor.map('meta').set('status', 'draft')
    manager.map('financial').set('value', 10_000)
    manager.map('meta').set('customerId', 'c-offline')
    editor.map('meta').set('status', 'in_review')
    await eventually(() => assert.equal(manager.map('meta').get('status'), 'in_review'))
    editor.provider.disconnect()
    editor.map('meta').set('status', 'draft') // offline, from what it saw (in_review)
    manager.map('meta').set('status', 'approved')
    await eventually(() => assert.equal(server.server.rooms.find(server.tenant, room)?.doc.getMap('meta').get('status'), 'approved'))
    editor.provider.connect()
    await eventually(() => {
      assert.equal(editor.map('meta').get('status'), 'approved')
      assert.equal(manager.map('meta').get('status'), 'approved')
      assert.ok(editor.notices.some((n) => n.ruleId === 'approved-is-final' && n.path === 'meta.status'), 'editor.notices.some((n) => n.ruleId === \'approved-is-final\' && n.path === \'me...')
    })
    assert.equal(await storedValue(server, room, 'meta', 'status'), 'approved')
    assert.deepEqual(manager.notices, [])
  })

  test('financial-review: an editor\'s financial change is held for review, a manager\'s is kept', async () => {
    const room = 'proposal/g-fin'
    const editor = await open(room)
    const manager = await open(room, { user: 'max', role: 'manager' })
    manager.map('financial').set('value', 1000)
    await eventually(() => assert.equal(editor.map('financial').get('value'), 1000))
    editor.map('financial').set('value', 999_999)
    await expectCompensated(room, editor, manager, ['financial', 'value'], 1000, 'financial-review', 'review')
  })

  test('team-admin-only and higher-role-wins', async () => {
    const room = 'proposal/g-team'
    const editor = await open(room)
    const admin = await open(room, { user: 'ada', role: 'admin' })
    const manager = await open(room, { user: 'max', role: 'manager' })
    admin.map('team').set('alice', 'editor')
    await eventually(() => assert.equal(editor.map('team').get('alice'), 'editor'))
    editor.map('team').set('alice', 'admin')
    await expectCompensated(room, editor, admin, ['team', 'alice'], 'editor', 'team-admin-only')
    const decision = { decision: 'approved', role: 'manager', at: '2026-11-25T10:00:00Z' }
    manager.map('approvals').set('max', decision)
    await eventually(() => assert.deepEqual(editor.map('approvals').get('max'), decision))
    editor.map('approvals').set('max', { decision: 'rejected', role: 'editor', at: '2026-11-25T11:00:00Z' })
    await expectCompensated(room, editor, manager, ['approvals', 'max'], decision, 'higher-role-wins')
  })

  test('legal-review: body edits of a legal document are held; only legal users flip `legal`', async () => {
    const room = 'content/g-legal'
    const lawyer = await open(room, { user: 'lea', legal: true })
    const editor = await open(room)
    const paragraph = new Y.XmlText('Approved clause.')
    lawyer.doc.getXmlFragment('body').insert(0, [paragraph])
    lawyer.map('meta').set('legal', true)
    await eventually(() => assert.equal(editor.map('meta').get('legal'), true))
    await eventually(() => assert.equal(editor.doc.getXmlFragment('body').toString(), 'Approved clause.'))
    ;(editor.doc.getXmlFragment('body').get(0) as Y.XmlText).insert(0, 'Sneaky ')
    await eventually(() => {
      assert.ok(editor.notices.some((n) => n.ruleId === 'legal-review' && n.outcome === 'review'), 'editor.notices.some((n) => n.ruleId === \'legal-review\' && n.outcome === \'revi...')
      assert.equal(editor.doc.getXmlFragment('body').toString(), 'Approved clause.')
      assert.equal(lawyer.doc.getXmlFragment('body').toString(), 'Approved clause.')
    })
    editor.map('meta').set('legal', false)
    await expectCompensated(room, editor, lawyer, ['meta', 'legal'], true, 'legal-review')
  })

  test('customer-required: the name is never emptied, the email must be valid', async () => {
    const room = 'customer/g-cust'
    const editor = await open(room)
    const observer = await open(room, { user: 'olga' })
    editor.map('fields').set('name', 'Globex')
    editor.map('fields').set('email', 'sales@globex.example')
    await eventually(() => assert.equal(observer.map('fields').get('email'), 'sales@globex.example'))
    editor.map('fields').set('name', '   ')
    await expectCompensated(room, editor, observer, ['fields', 'name'], 'Globex', 'customer-required')
    editor.map('fields').set('email', 'not-an-email')
    await expectCompensated(room, editor, observer, ['fields', 'email'], 'sales@globex.example', 'customer-required')
  })

  test('an offline batch of 1 violating and 20 valid changes: 20 kept, 1 reverted, one notice', async () => {
    const room = 'proposal/g-batch'
    const observer = await open(room, { user: 'olga', role: 'manager' })
    const offline = await open(room)
    offline.provider.disconnect()
    offline.doc.transact(() => {
      offline.map('meta').set('title', 'Offline title')
      for (let i = 0; i < 19; i++) offline.map('meta').set('title', `Offline title ${i}`)
      offline.map('meta').set('currency', 'EUR')
      offline.map('meta').set('status', 'won') // the one violation
    })
    // 20 valid changes in separate transactions, too.
    for (let i = 0; i < 20; i++) offline.map('meta').set('dueDate', `2027-01-${String(i + 1).padStart(2, '0')}`)
    offline.provider.connect()
    await eventually(() => {
      assert.equal(observer.map('meta').get('title'), 'Offline title 18')
      assert.equal(observer.map('meta').get('currency'), 'EUR')
      assert.equal(observer.map('meta').get('dueDate'), '2027-01-20')
      assert.equal(observer.map('meta').get('status'), undefined)
      assert.equal(offline.map('meta').get('status'), undefined)
    })
    assert.deepEqual(offline.notices.map((n) => `${n.ruleId}:${n.path}`), ['status-transition:meta.status'])
  })

  test('the compensated state is what a restarted server has', async () => {
    clients.destroyAll()
    server = await server.restart()
    const reader = await open('proposal/g-status', { user: 'rita', role: 'viewer' })
    assert.equal(reader.map('meta').get('status'), 'approved')
    // The cross-reference index is rebuilt from disk: the customer still exists for approver-role.
    const room = server.server.rooms.find(server.tenant, 'proposal/g-status')!
    assert.equal(room.documentExists('customer/c-real'), true)
    assert.equal(room.documentExists('customer/c-missing'), false)
    const customer = await open('customer/g-cust', { user: 'rita', role: 'viewer' })
    // Its name, stored as a legacy map value, is moved into the \`name\` text root when the room loads.
    await eventually(() => {
      assert.deepEqual(customer.map('fields').toJSON(), { email: 'sales@globex.example' })
      assert.equal(customer.doc.getText('name').toString(), 'Globex')
    })
  })

  test('the gate creates no root a document does not have, and still sees changes to roots read from disk', async () => {
    // Loaded after the restart: the stored `financial` root is a plain type until something reads it,
    // and the editor's overwrite names no root (its item's origin is the current value's item).
    const room = 'proposal/g-fin'
    const editor = await open(room)
    const manager = await open(room, { user: 'max', role: 'manager' })
    assert.equal(editor.map('financial').get('value'), 1000)
    editor.map('financial').set('value', 5)
    await expectCompensated(room, editor, manager, ['financial', 'value'], 1000, 'financial-review', 'review')
    const loaded = server.server.rooms.find(server.tenant, room)!
    // `editedAt` is stored with the value (its time), so the document has it.
    assert.deepEqual([...loaded.doc.share.keys()].sort(), ['editedAt', 'financial'])
    // A root the update names is observed like any other.
    editor.map('meta').set('title', 'x'.repeat(201))
    await expectCompensated(room, editor, manager, ['meta', 'title'], undefined, 'schema')
    assert.deepEqual([...loaded.doc.share.keys()].sort(), ['editedAt', 'financial', 'meta'])
  })
})
