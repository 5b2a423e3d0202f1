import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { eventually } from '../../shared/testing/eventually.ts'
import type { TestUser } from '../../shared/testing/devTokens.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { SERVER_STORES, type ServerStore } from '../testing/serverStores.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { PostgresStorage } from '../persistence/postgres/postgresStorage.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { summaryStorageFor } from './summaryStorage.ts'

interface Listed {
  name: string
  type: string
  id: string
  title: string
  status: string | null
  owner: string | null
  customer: { id: string; name: string | null } | null
  value: number | null
  lastChange: { at: number; userId: string } | null
  archived: { at: number; by: string } | null
}
interface ListAnswer {
  documents?: Listed[]
  total?: number
  nextCursor?: string | null
  error?: { code: string; message: string }
}

const list = async (server: TestServer, query = '', user: TestUser = {}): Promise<{ status: number; body: ListAnswer }> => {
  const response = await fetch(`${server.httpUrl}/api/documents${query}`, { headers: { authorization: `Bearer ${await server.token(user)}` } })
  return { status: response.status, body: (await response.json()) as ListAnswer }
}

const post = async (server: TestServer, path: string, user: TestUser = {}) => {
  const response = await fetch(`${server.httpUrl}/api/documents/${path}`, { method: 'POST', headers: { authorization: `Bearer ${await server.token(user)}` } })
  return { status: response.status, body: (await response.json()) as { document?: Listed; notices?: unknown[]; error?: { code: string } } }
}

/** A proposal's content as one update of a fresh doc (seeded straight into a stopped server's store). */
const proposalUpdate = (title: string, fields: { status?: string; ownerId?: string; value?: number } = {}): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('title').insert(0, title)
  const meta = doc.getMap('meta')
  if (fields.status) meta.set('status', fields.status)
  if (fields.ownerId) meta.set('ownerId', fields.ownerId)
  if (fields.value !== undefined) doc.getMap('financial').set('value', fields.value)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

/** The server's store, opened while the server is stopped. */
const openStore = (open: ServerStore): Promise<DocumentStorage> =>
  open.postgres ? PostgresStorage.open(open.postgres.url) : DocumentStore.open(open.config.dataDir)

for (const backend of SERVER_STORES) {
  describe(`document summaries on ${backend.name}`, () => {
    let store: ServerStore
    before(async () => {
      store = await backend.open()
    })
    after(() => store.dispose())

    test('a stored summary behind its document’s event log (a crash before the flush) is summarized again at start, an archive it missed included', async () => {
      const seeded = await openStore(store)
      const update = proposalUpdate('Current title', { status: 'draft' })
      const event = (seq: number, outcome: 'accepted' | 'admin', ruleIds: string[], bytes: Uint8Array) => ({ seq, at: 1_000 * seq, userId: `user-${seq}`, device: null, outcome, ruleIds, paths: [], update: bytes, applied: true })
      await seeded.appendBatch('acme/proposal/stale', { update, events: [event(1, 'accepted', [], update), event(2, 'admin', ['archive'], new Uint8Array())] })
      const stale = { name: 'proposal/stale', type: 'proposal', title: 'Old title', status: null, owner: null, customerId: null, value: null, currency: null, team: [], lastChange: null, archived: null, seq: 0 } as const
      await summaryStorageFor(seeded).write([{ tenant: 'acme', summary: stale }])
      await seeded.close()
      const server = await startServer({ ...store.config })
      try {
        await eventually(async () => {
          const { body } = await list(server, '?archived=1')
          const [doc] = body.documents ?? []
          assert.deepEqual([doc?.name, doc?.title, doc?.status, doc?.lastChange, doc?.archived], ['proposal/stale', 'Current title', 'draft', { at: 1_000, userId: 'user-1' }, { at: 2_000, by: 'user-2' }])
        })
      } finally {
        await server.stop()
      }
    })

    test('follow every edit, survive a restart, and are rebuilt for documents stored without one — listing loads no document', async () => {
      // Two documents stored before the server ever ran (as by an older release): no summaries.
      const seeded = await openStore(store)
      await seeded.appendBatch('acme/proposal/old-1', { update: proposalUpdate('Seeded bid', { status: 'draft', value: 900 }) })
      await seeded.appendBatch('acme/proposal/old-2', { update: proposalUpdate('Another seeded bid') })
      await seeded.close()

      let server = await startServer({ ...store.config, summaryFlushMs: 50 })
      const clients: Array<{ destroy(): void }> = []
      try {
        await eventually(async () => {
          const { body } = await list(server)
          assert.deepEqual(
            body.documents?.map((doc) => [doc.name, doc.title, doc.status, doc.value]),
            [
              ['proposal/old-2', 'Another seeded bid', null, null],
              ['proposal/old-1', 'Seeded bid', 'draft', 900],
            ],
          )
        })

        const customer = await server.connect('customer/c-1')
        clients.push(customer)
        await customer.whenSynced()
        customer.doc.getText('name').insert(0, 'Initech')
        const proposal = await server.connect('proposal/p-1', { user: 'bob', role: 'manager' })
        clients.push(proposal)
        await proposal.whenSynced()
        proposal.doc.transact(() => {
          proposal.doc.getText('title').insert(0, 'Zebra tender')
          proposal.doc.getMap('meta').set('status', 'draft')
          proposal.doc.getMap('meta').set('ownerId', 'bob')
          proposal.doc.getMap('financial').set('value', 1200)
        })
        await eventually(async () => {
          const { body } = await list(server, '?type=proposal&q=zebra')
          const [doc] = body.documents ?? []
          assert.equal(doc?.title, 'Zebra tender')
          assert.equal(doc.owner, 'bob')
          assert.equal(doc.value, 1200)
          assert.equal(doc.lastChange?.userId, 'bob')
        })
        proposal.doc.transact(() => {
          proposal.doc.getMap('meta').set('customerId', 'c-1')
          proposal.doc.getText('title').insert(0, 'The ')
        })
        await eventually(async () => {
          const { body } = await list(server, '?type=proposal&q=initech')
          assert.deepEqual(body.documents?.map((doc) => [doc.name, doc.title, doc.customer]), [['proposal/p-1', 'The Zebra tender', { id: 'c-1', name: 'Initech' }]])
        })
        for (const client of clients.splice(0)) client.destroy()

        server = await server.restart()
        // Straight after the restart, from the stored summaries.
        const { body } = await list(server, '?sort=title')
        assert.deepEqual(
          body.documents?.map((doc) => [doc.name, doc.title]),
          [
            ['proposal/old-2', 'Another seeded bid'],
            ['customer/c-1', 'Initech'],
            ['proposal/old-1', 'Seeded bid'],
            ['proposal/p-1', 'The Zebra tender'],
          ],
        )
        assert.equal(body.documents?.find((doc) => doc.name === 'proposal/p-1')?.lastChange?.userId, 'bob')
      } finally {
        for (const client of clients) client.destroy()
        await server.stop()
      }
    })
  })
}

describe('GET /api/documents', () => {
  let server: TestServer
  before(async () => {
    // 30 proposals and 5 customers of acme, 2 proposals of globex, stored before the server starts.
    const first = await startServer()
    const dataDir = first.dataDir
    await first.stop()
    const store = await DocumentStore.open(dataDir)
    for (let index = 0; index < 30; index++) {
      const id = String(index).padStart(2, '0')
      const update = proposalUpdate(`Bid ${id}`, { status: index % 3 === 0 ? 'won' : 'draft', ownerId: index % 2 === 0 ? 'alice' : 'bob', value: index * 100 })
      await store.appendBatch(`acme/proposal/p-${id}`, { update })
    }
    for (let index = 0; index < 5; index++) {
      const doc = new Y.Doc()
      doc.getText('name').insert(0, `Customer ${index}`)
      await store.appendBatch(`acme/customer/c-${index}`, { update: Y.encodeStateAsUpdate(doc) })
    }
    await store.appendBatch('globex/proposal/g-1', { update: proposalUpdate('Globex bid') })
    await store.appendBatch('globex/proposal/g-2', { update: proposalUpdate('Globex bid 2') })
    await store.close()
    server = await startServer({ dataDir })
    await eventually(async () => assert.equal((await list(server)).body.total, 35))
  })
  after(() => server.dispose())

  test("filters, searches and sorts the caller's tenant's documents, for any role", async () => {
    const viewer = { role: 'viewer' } as const
    const proposals = await list(server, '?type=proposal&limit=200', viewer)
    assert.equal(proposals.status, 200)
    assert.equal(proposals.body.total, 30)
    assert.ok(proposals.body.documents?.every((doc) => doc.type === 'proposal' && doc.name === `proposal/${doc.id}`), 'only proposals, named by type and id')
    assert.equal((await list(server, '?status=won')).body.total, 10)
    assert.equal((await list(server, '?owner=bob')).body.total, 15)
    assert.equal((await list(server, '?mine=1', { user: 'alice' })).body.total, 15)
    assert.equal((await list(server, '?mine=1', { user: 'carol' })).body.total, 0)
    assert.deepEqual((await list(server, '?q=BID%2007')).body.documents?.map((doc) => doc.name), ['proposal/p-07'])
    assert.deepEqual((await list(server, '?q=customer&sort=title&order=desc&limit=2')).body.documents?.map((doc) => doc.title), ['Customer 4', 'Customer 3'])
    const byValue = (await list(server, '?type=proposal&sort=value&limit=3')).body.documents?.map((doc) => doc.value)
    assert.deepEqual(byValue, [2900, 2800, 2700])
    const globex = await list(server, '', { tenant: 'globex' })
    assert.deepEqual(globex.body.documents?.map((doc) => doc.name), ['proposal/g-1', 'proposal/g-2'])
  })

  test('pages with a cursor that neither repeats nor skips a document while others change', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    const client = await server.connect('proposal/p-05')
    try {
      await client.whenSynced()
      do {
        const answer: { body: ListAnswer } = await list(server, `?type=proposal&sort=title&limit=7${cursor ? `&cursor=${cursor}` : ''}`)
        seen.push(...(answer.body.documents ?? []).map((doc) => doc.name))
        cursor = answer.body.nextCursor ?? null
        // A document already listed is renamed to sort after the rest.
        if (pages++ === 0) {
          client.doc.getText('title').insert(0, 'zz ')
          await eventually(async () => assert.equal((await list(server, '?q=zz')).body.total, 1))
        }
      } while (cursor)
    } finally {
      client.destroy()
    }
    // The renamed one moved behind the cursor and shows again; every other shows exactly once.
    const unchanged = seen.filter((name) => name !== 'proposal/p-05')
    assert.equal(new Set(unchanged).size, unchanged.length, 'no unchanged document twice')
    assert.equal(unchanged.length, 29, 'no unchanged document skipped')
    assert.deepEqual(seen.filter((name) => name === 'proposal/p-05'), ['proposal/p-05', 'proposal/p-05'])
  })

  test('refuses unbounded or malformed queries with 400 ERR_BAD_REQUEST, and anyone without a token with 401', async () => {
    for (const query of [
      '?limit=201',
      '?limit=0',
      '?limit=-1',
      '?limit=1e3',
      `?q=${'x'.repeat(201)}`,
      '?sort=size',
      '?order=up',
      '?type=spreadsheet',
      '?mine=yes',
      '?cursor=not-a-cursor',
      `?cursor=${'A'.repeat(2_000)}`,
      `?sort=value&cursor=${Buffer.from(JSON.stringify({ s: 'title', o: 'asc', k: 'a', n: 'proposal/p-01' })).toString('base64url')}`,
      `?cursor=${Buffer.from(JSON.stringify({ s: 'title', o: 'asc', k: 5, n: 'proposal/p-01' })).toString('base64url')}`,
    ]) {
      const { status, body } = await list(server, query)
      assert.equal(status, 400, query)
      assert.equal(body.error?.code, 'ERR_BAD_REQUEST', query)
    }
    assert.equal((await list(server, '?limit=200')).body.documents?.length, 35)
    const missing = await fetch(`${server.httpUrl}/api/documents`)
    assert.equal(missing.status, 401)
    assert.equal(((await missing.json()) as ListAnswer).error?.code, 'ERR_TOKEN_MISSING')
  })

  test('archive: managers and admins only, audited in the document’s event log, reversible, kept over a restart', async () => {
    const editor = await post(server, 'proposal/p-01/archive')
    assert.equal(editor.status, 403)
    assert.equal(editor.body.error?.code, 'ERR_MANAGER_ONLY')
    assert.equal((await post(server, 'proposal/nope/archive', { role: 'manager' })).body.error?.code, 'ERR_DOCUMENT_NOT_FOUND')
    assert.equal((await post(server, 'proposal/g-1/archive', { role: 'manager' })).status, 404, "another tenant's document is not found")

    const archived = await post(server, 'proposal/p-01/archive', { role: 'manager', user: 'maria' })
    assert.equal(archived.status, 200)
    assert.equal(archived.body.document?.archived?.by, 'maria')
    assert.ok(!(await list(server, '?limit=200')).body.documents?.some((doc) => doc.name === 'proposal/p-01'), 'the archived proposal left the default list')
    assert.deepEqual((await list(server, '?archived=1')).body.documents?.map((doc) => doc.name), ['proposal/p-01'])
    const [event] = await server.server.store.readEvents('acme/proposal/p-01', { limit: 1, reverse: true })
    assert.deepEqual({ outcome: event?.outcome, ruleIds: event?.ruleIds, userId: event?.userId }, { outcome: 'admin', ruleIds: ['archive'], userId: 'maria' })
    // Archiving again records nothing new.
    await post(server, 'proposal/p-01/archive', { role: 'admin' })
    assert.equal((await server.server.store.lastEventSeq('acme/proposal/p-01')), event!.seq)

    server = await server.restart()
    assert.deepEqual((await list(server, '?archived=1')).body.documents?.map((doc) => doc.name), ['proposal/p-01'])
    const back = await post(server, 'proposal/p-01/unarchive', { role: 'admin', user: 'root' })
    assert.equal(back.status, 200)
    assert.equal(back.body.document?.archived, null)
    assert.ok((await list(server, '?limit=200')).body.documents?.some((doc) => doc.name === 'proposal/p-01'), 'the unarchived proposal is back')
    const [undone] = await server.server.store.readEvents('acme/proposal/p-01', { limit: 1, reverse: true })
    assert.deepEqual({ ruleIds: undone?.ruleIds, userId: undone?.userId }, { ruleIds: ['unarchive'], userId: 'root' })
  })

  test('duplicate: a new document through the write path as the duplicating user, titled "Copy of …"; viewers may not', async () => {
    const viewer = await post(server, 'proposal/p-03/duplicate', { role: 'viewer' })
    assert.equal(viewer.status, 403)
    assert.equal(viewer.body.error?.code, 'ERR_READ_ONLY')
    assert.equal((await post(server, 'proposal/none/duplicate')).status, 404)

    const copy = await post(server, 'proposal/p-03/duplicate', { user: 'dora' })
    assert.equal(copy.status, 201)
    const name = copy.body.document!.name
    assert.notEqual(name, 'proposal/p-03')
    assert.equal(copy.body.document?.title, 'Copy of Bid 03')
    assert.equal(copy.body.document?.status, 'draft', 'a copy starts as a draft')
    // An editor's change to a figure is held for review: the copy's too, and the answer says so.
    assert.equal(copy.body.document?.value, null)
    assert.deepEqual((copy.body.notices as Array<{ ruleId: string; path: string }>).map(({ ruleId, path }) => [ruleId, path]), [['financial-review', 'financial.value']])
    assert.equal(copy.body.document?.lastChange?.userId, 'dora')
    const events = await server.server.store.readEvents(`acme/${name}`)
    // Recorded as dora's edit (held in part), the server's compensation after it.
    assert.deepEqual([events[0]?.outcome, events[0]?.userId], ['review', 'dora'])
    assert.ok(events.slice(1).every((event) => event.outcome === 'compensation' && event.userId === 'server'), 'the later events are the server compensating')
    const client = await server.connect(name)
    try {
      await client.whenSynced()
      assert.equal(client.doc.getText('title').toString(), 'Copy of Bid 03')
    } finally {
      client.destroy()
    }
  })

  test('a user added to a proposal’s team gets a lasting notification', async () => {
    const admin = await server.connect('proposal/p-09', { role: 'admin', user: 'root' })
    try {
      await admin.whenSynced()
      admin.doc.getMap('team').set('erin', 'editor')
      const token = await server.token({ user: 'erin' })
      await eventually(async () => {
        const response = await fetch(`${server.httpUrl}/api/notifications`, { headers: { authorization: `Bearer ${token}` } })
        const body = (await response.json()) as { notifications: Array<{ kind: string; document: string; detail: unknown }> }
        assert.deepEqual(
          body.notifications.map(({ kind, document, detail }) => ({ kind, document, detail })),
          [{ kind: 'team-assigned', document: 'proposal/p-09', detail: { role: 'editor', by: 'root' } }],
        )
      })
    } finally {
      admin.destroy()
    }
  })
})
