import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { adminCli } from '../testing/adminCli.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { gateClientPool } from '../testing/gateClients.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

/**
 * Every admin operation that changes or reads stored state, run both ways on two servers seeded
 * the same way: online through the admin API of the running one, offline through the CLI on the
 * other's data directory once it stopped. Both must store (and answer) the same thing.
 */
describe('admin operations online and offline store the same result', () => {
  let onlineSide: TestServer
  let offlineSide: TestServer
  let firstOffline: TestServer
  let adminToken: string
  let files: Awaited<ReturnType<typeof tempDir>>
  const clients = gateClientPool()
  /** Offline changes are recorded as `posalpro-admin:<USER>`; online as the token's user. */
  const env = { USER: 'ada' }
  const online = (args: string[]) => adminCli(['--url', onlineSide.httpUrl, '--token', adminToken, ...args], env)
  const offline = (args: string[]) => adminCli(['--data-dir', offlineSide.dataDir, '--tenant', offlineSide.tenant, ...args], env)
  const seedBoth = async (run: (server: TestServer) => Promise<void>) => {
    await run(onlineSide)
    await run(offlineSide)
  }
  /** Stops the offline side, runs `compare`, then starts it again on the same data directory. */
  const whileOfflineSideStopped = async (compare: () => Promise<void>) => {
    clients.destroyAll()
    await offlineSide.stop()
    try {
      await compare()
    } finally {
      offlineSide = await startServer({ dataDir: offlineSide.dataDir })
    }
  }
  /** What each side stored for a document: its content, event log and stored update count (rooms compact on their own). */
  const stored = async (name: string) => {
    const read = async (store: DocumentStorage, tenant: string) => {
      const storageName = `${tenant}/${name}`
      const { doc, storedUpdates } = await store.loadDoc(storageName)
      const result = { content: doc.toJSON(), storedUpdates, events: await store.readEvents(storageName), names: await store.documentNames() }
      doc.destroy()
      return result
    }
    const offlineStore = await DocumentStore.open(offlineSide.dataDir)
    try {
      return { online: await read(onlineSide.server.store, onlineSide.tenant), offline: await read(offlineStore, offlineSide.tenant) }
    } finally {
      await offlineStore.close()
    }
  }
  /** An event without what legitimately differs: its time and who (the token's user / the local user). */
  const comparable = ({ at: _at, userId: _userId, ...rest }: EventRecord) => rest
  const importApi = async (server: TestServer, name: string, update: Uint8Array) =>
    adminRequest(server, await server.token({ user: 'ada', role: 'admin' }), 'POST', `/docs/${name}/import`, { update: Buffer.from(update).toString('base64') })
  const exportFile = async (file: string, name: string, update: Uint8Array) => {
    const target = path.join(files.path, file)
    await writeFile(target, JSON.stringify({ format: 'posalpro-document/1', name, type: name.split('/')[0], update: Buffer.from(update).toString('base64') }))
    return target
  }

  // One source document: its state once seeded (A), its state later (B), and B's part alone.
  // Not a free-text field (title, …): the online side's room moves those into text roots when it
  // loads a document, which an offline change made without a room does not do.
  const source = new Y.Doc()
  source.getMap('meta').set('dueDate', '2027-01-01')
  source.getXmlFragment('body').insert(0, [new Y.XmlText('Seed text.')])
  const stateA = Y.encodeStateAsUpdate(source)
  const vectorA = Y.encodeStateVector(source)
  source.getMap('meta').set('currency', 'EUR')
  source.getMap('meta').set('dueDate', '2027-02-02')
  const stateB = Y.encodeStateAsUpdate(source)
  const onlyB = Y.encodeStateAsUpdate(source, vectorA)

  before(async () => {
    onlineSide = await startServer()
    offlineSide = firstOffline = await startServer()
    adminToken = await onlineSide.token({ user: 'ada', role: 'admin' })
    files = await tempDir('posalpro-admin-files-')
  })
  after(async () => {
    clients.destroyAll()
    await onlineSide.dispose()
    await offlineSide.dispose()
    await firstOffline.dispose()
    await files.remove()
  })

  test('import merges through the same checks: the same stored update, event and content both ways', async () => {
    const name = 'proposal/imp'
    await seedBoth(async (server) => assert.equal((await importApi(server, name, stateA)).status, 200))
    const grown = await exportFile('grown.json', name, stateB)
    await whileOfflineSideStopped(async () => {
      const [a, b] = [await online(['docs', 'import', grown]), await offline(['docs', 'import', grown])]
      assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr)
      const { online: on, offline: off } = await stored(name)
      assert.deepEqual(off.content, on.content)
      // The import's event carries what the merge changed (not the raw export), the same bytes both ways.
      assert.deepEqual(off.events.map(comparable), on.events.map(comparable))
      assert.equal(on.events.at(-1)!.userId, 'ada')
      assert.equal(off.events.at(-1)!.userId, 'posalpro-admin:ada')
    })
  })

  test('import refuses the same updates both ways, and stores nothing for them', async () => {
    const withForeignRoot = new Y.Doc()
    withForeignRoot.getMap('invoice').set('total', 1)
    const refused = [
      { name: 'proposal/imp-gap', update: onlyB, code: ErrorCode.ImportIncomplete }, // needs A, which the document lacks
      { name: 'proposal/imp-root', update: Y.encodeStateAsUpdate(withForeignRoot), code: ErrorCode.UnknownRoot },
      { name: 'proposal/imp-garbage', update: new Uint8Array([1, 200, 200, 200, 7]), code: ErrorCode.UpdateCountsOutOfRange },
    ]
    const paths = await Promise.all(refused.map(({ name, update }) => exportFile(`${name.split('/')[1]}.json`, name, update)))
    await whileOfflineSideStopped(async () => {
      for (const [index, { name, code }] of refused.entries()) {
        const [a, b] = [await online(['docs', 'import', paths[index]!]), await offline(['docs', 'import', paths[index]!])]
        assert.deepEqual([a.code, b.code], [1, 1], `${name}: ${a.stdout}${a.stderr} / ${b.stdout}${b.stderr}`)
        assert.match(a.stderr, new RegExp(`error: ${code}:`))
        assert.match(b.stderr, new RegExp(`error: ${code}:`))
        const { online: on, offline: off } = await stored(name)
        for (const side of [on, off]) {
          assert.deepEqual([side.storedUpdates, side.events.length], [0, 0], name)
          assert.ok(!side.names.includes(`${onlineSide.tenant}/${name}`), name)
        }
      }
    })
  })

  test('revert: the same answer, stored change and event both ways', async () => {
    const name = 'proposal/imp' // events 1 (state A) and 2 (what B added), on both sides
    await whileOfflineSideStopped(async () => {
      const [a, b] = [await online(['--json', 'docs', 'revert', name, '1']), await offline(['--json', 'docs', 'revert', name, '1'])]
      assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr)
      assert.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout))
      assert.deepEqual(JSON.parse(a.stdout), { document: name, revertedTo: 1, paths: ['meta.currency', 'meta.dueDate'] })
      const { online: on, offline: off } = await stored(name)
      assert.deepEqual(off.content, on.content)
      const withoutBytes = ({ update: _update, ...rest }: ReturnType<typeof comparable>) => rest
      assert.deepEqual(off.events.map(comparable).map(withoutBytes), on.events.map(comparable).map(withoutBytes))
    })
  })

  test('approve: the event of the approved change names its review item both ways', async () => {
    const name = 'proposal/approve'
    const held = new Map<TestServer, string>()
    await seedBoth(async (server) => {
      const editor = await clients.open(server, name)
      editor.map('financial').set('value', 700)
      held.set(server, await eventually(() => {
        const notice = editor.notices.find((n) => n.outcome === 'review')
        assert.ok(notice?.reviewId, 'notice?.reviewId')
        return notice.reviewId
      }))
      await eventually(async () => assert.equal((await server.server.store.readEvents(`${server.tenant}/${name}`)).length, 2))
    })
    const onlineId = held.get(onlineSide)!
    const offlineId = held.get(offlineSide)!
    await whileOfflineSideStopped(async () => {
      const [a, b] = [await online(['--json', 'review', 'approve', onlineId]), await offline(['--json', 'review', 'approve', offlineId])]
      assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr)
      const [itemA, itemB] = [JSON.parse(a.stdout) as ReviewItem, JSON.parse(b.stdout) as ReviewItem]
      assert.deepEqual([itemA.status, itemB.status], ['approved', 'approved'])
      const { online: on, offline: off } = await stored(name)
      assert.deepEqual(off.content, on.content)
      const approval = (events: EventRecord[]) => {
        const { update: _update, reviewId, ...rest } = comparable(events.at(-1)!)
        return { ...rest, reviewId: reviewId === undefined ? 'missing' : 'the item' }
      }
      assert.equal(on.events.at(-1)!.reviewId, onlineId)
      assert.equal(off.events.at(-1)!.reviewId, offlineId)
      assert.deepEqual(approval(off.events), approval(on.events))
    })
  })

  test('reject: the same stored item both ways, its reason bounded the same', async () => {
    const name = 'proposal/reject'
    const held = new Map<TestServer, string>()
    await seedBoth(async (server) => {
      const editor = await clients.open(server, name)
      editor.map('financial').set('value', 900)
      held.set(server, await eventually(() => {
        const notice = editor.notices.find((n) => n.outcome === 'review')
        assert.ok(notice?.reviewId, 'notice?.reviewId')
        return notice.reviewId
      }))
    })
    const reason = 'too generous '.repeat(50) // 650 characters
    await whileOfflineSideStopped(async () => {
      const a = await online(['--json', 'review', 'reject', held.get(onlineSide)!, '--reason', reason])
      const b = await offline(['--json', 'review', 'reject', held.get(offlineSide)!, '--reason', reason])
      assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr)
      const [itemA, itemB] = [JSON.parse(a.stdout) as ReviewItem, JSON.parse(b.stdout) as ReviewItem]
      assert.equal(itemA.reason, reason.slice(0, 500))
      assert.equal(itemB.reason, itemA.reason)
      const offlineStore = await DocumentStore.open(offlineSide.dataDir)
      try {
        assert.deepEqual((await offlineStore.getReview(offlineSide.tenant, itemB.id))?.reason, itemA.reason)
      } finally {
        await offlineStore.close()
      }
    })
  })

  test('history: every event both ways, also past the admin API\'s page size', async () => {
    const name = 'proposal/long'
    // Events only (no update): a long audit trail is what matters here, written straight to each store.
    await seedBoth(async (server) => {
      const events: EventRecord[] = Array.from({ length: 1001 }, (_, index) => ({
        seq: index + 1, at: 1_700_000_000_000 + index, userId: 'alice', device: null, outcome: 'rejected', applied: false, ruleIds: ['read-only'], paths: [], update: new Uint8Array([0, 0]),
      }))
      await server.server.store.appendBatch(`${server.tenant}/${name}`, { update: null, events })
    })
    await whileOfflineSideStopped(async () => {
      const [a, b] = [await online(['--json', 'docs', 'history', name, '--limit', '2']), await offline(['--json', 'docs', 'history', name, '--limit', '2'])]
      assert.deepEqual([a.code, b.code], [0, 0], a.stderr + b.stderr)
      assert.deepEqual((JSON.parse(a.stdout) as EventRecord[]).map((event) => event.seq), [1000, 1001])
      assert.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout))
    })
  })
})
