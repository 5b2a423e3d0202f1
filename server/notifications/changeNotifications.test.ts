import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import type { Notification } from './notification.ts'

type Listing = { notifications: Notification[]; unread: number }

describe('lasting notifications of refused and overwritten changes', () => {
  let server: TestServer
  const listFor = async (user: string): Promise<Notification[]> => {
    const token = await server.token({ user })
    const response = await fetch(`${server.httpUrl}/api/notifications`, { headers: { authorization: `Bearer ${token}` } })
    return ((await response.json()) as Listing).notifications
  }

  before(async () => {
    server = await startServer()
  })
  after(() => server.dispose())

  test('a refused change is told to its author once per rule and document however often it is refused', async () => {
    const carol = await server.connect('proposal/refused', { user: 'carol' })
    carol.doc.getMap('meta').set('currency', 'euro')
    await eventually(async () => assert.deepEqual((await listFor('carol')).map((n) => n.kind), ['change-rejected'], 'told once'))
    carol.doc.getMap('meta').set('currency', 'dollars')
    carol.doc.getMap('meta').set('currency', 'pounds')
    await eventually(() => assert.equal(carol.doc.getMap('meta').get('currency'), undefined, 'every refusal undone'))
    const [told] = await listFor('carol')
    assert.equal((await listFor('carol')).length, 1, 'still one notification')
    assert.equal(told!.document, 'proposal/refused', 'the document')
    assert.deepEqual(told!.detail, { ruleIds: ['schema'], paths: ['meta.currency'], message: (told!.detail as { message: string }).message }, 'rule and field')
    assert.match((told!.detail as { message: string }).message, /currency/, 'what was wrong')
    assert.deepEqual(await listFor('dave'), [], 'nobody else is told')
    carol.destroy()
  })

  test('a value replaced by a concurrent write is told to the user whose value it was, naming who replaced it', async () => {
    const erin = await server.connect('proposal/overwritten', { user: 'erin' })
    const frank = await server.connect('proposal/overwritten', { user: 'frank', name: 'Frank F' })
    // In one tick: neither has seen the other's value when it writes.
    erin.doc.getMap('meta').set('dueDate', '2027-03-01')
    frank.doc.getMap('meta').set('dueDate', '2027-04-01')
    await eventually(async () => {
      const told = [...(await listFor('erin')), ...(await listFor('frank'))]
      assert.equal(told.length, 1, `one of them is told: ${JSON.stringify(told)}`)
      const [notification] = told
      assert.equal(notification!.kind, 'value-overwritten', 'kind')
      const detail = notification!.detail as { path: string; by: string }
      assert.equal(detail.path, 'meta.dueDate', 'the field')
      assert.notEqual(detail.by, notification!.userId, 'replaced by the other one')
    })
    erin.destroy()
    frank.destroy()
  })
})
