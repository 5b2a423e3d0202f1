import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { isCollabError } from '../../../shared/errors.ts'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import { tempDir } from '../../../shared/testing/tempDir.ts'
import type { ConflictRecord as Conflict } from '../../../shared/conflictRecord.ts'
import type { OwnerClaim } from '../../gate/clientOwnership.ts'
import { eventually } from '../../../shared/testing/eventually.ts'
import { DocumentStore } from '../documentStore.ts'
import type { DocumentStorage } from '../documentStorage.ts'
import type { EventRecord } from '../eventLog.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import type { Notification } from '../../notifications/notification.ts'
import { PostgresStorage } from './postgresStorage.ts'

/**
 * One contract, every store: what the server relies on from its storage (`documentStorage.ts`),
 * run against LevelDB and PostgreSQL alike, through the interface the server uses.
 */
const backends: Array<{ name: string; open(): Promise<{ store: DocumentStorage; close(): Promise<void> }> }> = [
  {
    name: 'LevelDB',
    async open() {
      const dir = await tempDir('posalpro-contract-')
      const store = await DocumentStore.open(dir.path)
      return {
        store,
        async close() {
          await store.close()
          await dir.remove()
        },
      }
    },
  },
  {
    name: 'LevelDB, encrypted at rest',
    async open() {
      const dir = await tempDir('posalpro-contract-')
      const store = await DocumentStore.open(dir.path, { atRest: { masterKey: randomBytes(32) } })
      return {
        store,
        async close() {
          await store.close()
          await dir.remove()
        },
      }
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const postgres: PostgresInstance = await startPostgres()
      const store = await PostgresStorage.open(postgres.url)
      return {
        store,
        async close() {
          await store.close()
          await postgres.stop()
        },
      }
    },
  },
  {
    name: 'PostgreSQL, encrypted at rest',
    async open() {
      const postgres: PostgresInstance = await startPostgres()
      const store = await PostgresStorage.open(postgres.url, { atRest: { masterKey: randomBytes(32) } })
      return {
        store,
        async close() {
          await store.close()
          await postgres.stop()
        },
      }
    },
  },
]

/** Bytes as plain Uint8Arrays (LevelDB hands out Buffers): the contract is about the bytes. */
const plain = ({ updates, stateVector }: { updates: Uint8Array[]; stateVector: Uint8Array | null }) => ({
  updates: updates.map((update) => Uint8Array.from(update)),
  stateVector: stateVector && Uint8Array.from(stateVector),
})

const edit = (doc: Y.Doc, key: string, value: unknown): { update: Uint8Array; stateVector: Uint8Array } => {
  let update: Uint8Array | null = null
  doc.once('update', (bytes: Uint8Array) => (update = bytes))
  doc.getMap('meta').set(key, value)
  return { update: update!, stateVector: Y.encodeStateVector(doc) }
}

const event = (seq: number, update: Uint8Array, at: number): EventRecord => ({
  seq,
  at,
  userId: 'alice',
  userName: 'Alice Editor',
  device: null,
  outcome: 'accepted',
  applied: true,
  ruleIds: [],
  paths: ['meta.title'],
  update,
})

const review = (id: string, document: string, status: ReviewItem['status']): ReviewItem => ({
  id,
  tenant: 'acme',
  document,
  ruleId: 'financial-review',
  proposer: { userId: 'pat', role: 'editor', device: null },
  proposedAt: 1_000,
  changes: [{ path: 'financial.value', root: 'financial', key: 'value', baseValue: null, proposedValue: 12_000 }],
  status,
  eventSeq: 1,
})

const contentOf = (updates: readonly Uint8Array[]): unknown => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getMap('meta').toJSON()
}

for (const backend of backends) {
  describe(`store contract: ${backend.name}`, () => {
    let store: DocumentStorage
    let close: () => Promise<void>
    before(async () => {
      ;({ store, close } = await backend.open())
    })
    after(() => close())

    test('updates load in the order stored, with the state vector only while it is current', async () => {
      const doc = new Y.Doc()
      const first = edit(doc, 'a', 1)
      await store.appendBatch('acme/proposal/order', first)
      assert.deepEqual(plain(await store.loadStored('acme/proposal/order')), { updates: [first.update], stateVector: first.stateVector })
      const second = edit(doc, 'b', 2)
      await store.appendBatch('acme/proposal/order', { update: second.update })
      assert.deepEqual(plain(await store.loadStored('acme/proposal/order')), { updates: [first.update, second.update], stateVector: null })
      assert.deepEqual(plain(await store.loadStored('acme/proposal/never')), { updates: [], stateVector: null })
    })

    test('compaction leaves one update with the same content and a current state vector; later writes come after it', async () => {
      const doc = new Y.Doc()
      for (let index = 0; index < 5; index++) await store.appendBatch('acme/proposal/compact', edit(doc, `k${index}`, index))
      assert.ok(((await store.compact('acme/proposal/compact')) ?? 0) > 0, 'compaction merged something')
      const compacted = plain(await store.loadStored('acme/proposal/compact'))
      assert.equal(compacted.updates.length, 1)
      assert.deepEqual(contentOf(compacted.updates), doc.getMap('meta').toJSON())
      assert.deepEqual(compacted.stateVector, Y.encodeStateVector(doc))
      assert.equal(await store.compact('acme/proposal/compact'), null)
      await store.appendBatch('acme/proposal/compact', edit(doc, 'later', true))
      const after = await store.loadStored('acme/proposal/compact')
      assert.equal(after.updates.length, 2)
      assert.deepEqual(contentOf(after.updates), doc.getMap('meta').toJSON())
    })

    test('events: ranges, newest first, retention of the expired prefix, numbering after the base', async () => {
      const doc = new Y.Doc()
      const times = [1_000, 500, 3_000, 4_000, 5_000]
      for (let seq = 1; seq <= 5; seq++) {
        const { update } = edit(doc, `e${seq}`, seq)
        await store.appendBatch('acme/proposal/events', { update, events: [event(seq, update, times[seq - 1]!)] })
      }
      assert.deepEqual((await store.readEvents('acme/proposal/events', { fromSeq: 2, toSeq: 4 })).map((e) => e.seq), [2, 3, 4])
      assert.deepEqual((await store.readEvents('acme/proposal/events', { limit: 2, reverse: true })).map((e) => e.seq), [5, 4])
      // Who made it, as people read it, is kept with the event (history names people, not ids).
      assert.deepEqual((await store.readEvents('acme/proposal/events', { limit: 1 })).map((e) => e.userName), ['Alice Editor'])
      assert.equal(await store.pruneEvents('acme/proposal/events', 900), 0)
      assert.equal(await store.pruneEvents('acme/proposal/events', 3_500), 3)
      assert.equal((await store.eventBase('acme/proposal/events'))?.seq, 3)
      assert.deepEqual((await store.readEvents('acme/proposal/events')).map((e) => e.seq), [4, 5])
      assert.equal(await store.pruneEvents('acme/proposal/events', 10_000), 2)
      assert.equal(await store.lastEventSeq('acme/proposal/events'), 5)
      assert.equal(await store.lastEventSeq('acme/proposal/no-events'), 0)
      const base = await store.eventBase('acme/proposal/events')
      assert.deepEqual(contentOf([base!.update]), doc.getMap('meta').toJSON())
    })

    test('an integrity event (nothing applied, no update) is stored beside the changes and skipped by rebuilds', async () => {
      const doc = new Y.Doc()
      const { update } = edit(doc, 'title', 'kept')
      await store.appendBatch('acme/proposal/integrity', { update, events: [event(1, update, 1_000)] })
      const integrity: EventRecord = { ...event(2, new Uint8Array(), 2_000), outcome: 'integrity', applied: false, ruleIds: ['digest-mismatch'], paths: [] }
      await store.appendBatch('acme/proposal/integrity', { update: null, events: [integrity] })
      const events = await store.readEvents('acme/proposal/integrity')
      assert.deepEqual(events.map((e) => [e.seq, e.outcome, e.applied]), [[1, 'accepted', true], [2, 'integrity', false]])
      assert.deepEqual(contentOf((await store.loadUpdates('acme/proposal/integrity'))), { title: 'kept' })
    })

    test('client owners and conflicts come back as stored, in key order', async () => {
      const doc = new Y.Doc()
      const owners = [{ client: 2 ** 32 + 5, userId: 'bob' }, { client: 7, userId: null }, { client: 300, userId: 'alice' }]
      const conflicts: Conflict[] = [
        { id: '2-0', path: 'meta.title', eventSeq: 2, at: 1, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'a', value: 'A' }, loser: { userId: 'b', value: 'B' } },
        { id: '1-0', path: 'meta.status', eventSeq: 1, at: 2, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'a', value: 1 }, loser: { userId: 'b', value: 2 } },
      ]
      await store.appendBatch('acme/proposal/owners', { ...edit(doc, 'x', 1), owners, conflicts: [conflicts[1]!] })
      await store.appendBatch('acme/proposal/owners', { update: null, conflicts: [conflicts[0]!] })
      assert.deepEqual(await store.clientOwners('acme/proposal/owners'), [...owners].sort((a, b) => a.client - b.client))
      assert.deepEqual(await store.listConflicts('acme/proposal/owners'), [conflicts[1], conflicts[0]])
      // A dismissal puts the record again under its id: it replaces the stored one.
      const dismissed = { ...conflicts[0]!, dismissed: { at: 9 } }
      await store.appendBatch('acme/proposal/owners', { update: null, conflicts: [dismissed] })
      assert.deepEqual(await store.listConflicts('acme/proposal/owners'), [conflicts[1], dismissed])
    })

    test('claim, load, write, release (a room\'s cycle); loadDoc and loadUpdates see every write; an idle store is healthy and not behind', async () => {
      const doc = new Y.Doc()
      await store.claim('acme/proposal/cycle')
      await store.appendBatch('acme/proposal/cycle', edit(doc, 'a', 1))
      await store.appendBatch('acme/proposal/cycle', edit(doc, 'b', 2))
      store.release('acme/proposal/cycle')
      await store.claim('acme/proposal/cycle') // the next room's claim
      await store.appendBatch('acme/proposal/cycle', edit(doc, 'c', 3))
      const loaded = await store.loadDoc('acme/proposal/cycle')
      assert.deepEqual(loaded.doc.getMap('meta').toJSON(), { a: 1, b: 2, c: 3 })
      assert.equal(loaded.storedUpdates, 3)
      loaded.doc.destroy()
      assert.equal((await store.loadUpdates('acme/proposal/cycle')).length, 3)
      assert.equal(store.healthy, true)
      assert.equal(store.backlogFull, false)
      await eventually(() => assert.deepEqual(store.backlog, { writes: 0, bytes: 0 }))
    })

    test('compaction given the state as stored keeps the content and the state vector', async () => {
      const doc = new Y.Doc()
      for (let index = 0; index < 3; index++) await store.appendBatch('acme/proposal/compact-state', edit(doc, `k${index}`, index))
      assert.ok(((await store.compact('acme/proposal/compact-state', { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) })) ?? 0) > 0, '((await store.compact(\'acme/proposal/compact-state\', { update: Y.encodeStateA...')
      const compacted = plain(await store.loadStored('acme/proposal/compact-state'))
      assert.equal(compacted.updates.length, 1)
      assert.deepEqual(contentOf(compacted.updates), { k0: 0, k1: 1, k2: 2 })
      assert.deepEqual(compacted.stateVector, Y.encodeStateVector(doc))
    })

    test('a document exists from its first stored update: records without one do not list it', async () => {
      await store.appendBatch('other/proposal/records-only', { update: null, owners: [{ client: 1, userId: 'a' }] })
      await store.appendBatch('other/proposal/listed', edit(new Y.Doc(), 'x', 1))
      const names = await store.documentNames()
      assert.ok(names.includes('other/proposal/listed'), 'names.includes(\'other/proposal/listed\')')
      assert.ok(!names.includes('other/proposal/records-only'), '!names.includes(\'other/proposal/records-only\')')
    })

    test('reviews: pending ones per document, a decision replaces the item and stores the proposer\'s notification in the same batch', async () => {
      const pending = review('r-1', 'proposal/reviewed', 'pending')
      const other = review('r-2', 'proposal/elsewhere', 'pending')
      await store.appendBatch('acme/proposal/reviewed', { ...edit(new Y.Doc(), 'v', 1), reviews: [pending] })
      await store.appendBatch('acme/proposal/elsewhere', { ...edit(new Y.Doc(), 'v', 1), reviews: [other] })
      assert.deepEqual(await store.pendingReviews('acme', 'proposal/reviewed'), [pending])
      assert.deepEqual(await store.getReview('acme', 'r-1'), pending)
      assert.equal(await store.getReview('acme', 'r-none'), null)
      assert.deepEqual(await store.notifications('acme', 'pat'), [])
      const approved: ReviewItem = { ...pending, status: 'approved', decidedBy: 'ada', decidedAt: 5_000 }
      await store.appendBatch('acme/proposal/reviewed', { update: null, reviews: [approved] })
      assert.deepEqual(await store.pendingReviews('acme', 'proposal/reviewed'), [])
      assert.deepEqual(await store.getReview('acme', 'r-1'), approved)
      assert.deepEqual((await store.listReviews('acme')).map((item) => [item.id, item.status]), [['r-1', 'approved'], ['r-2', 'pending']])
      const [told, ...more] = await store.notifications('acme', 'pat')
      assert.equal(more.length, 0)
      assert.equal(told?.kind, 'review-decided')
      assert.deepEqual(told?.detail, { reviewId: 'r-1', ruleId: 'financial-review', paths: ['financial.value'], outcome: 'approved', decidedBy: 'ada' })
    })

    test('notifications: newest first, replaced by id, dropped by id, one user\'s apart from another\'s', async () => {
      const notice = (at: number, userId = 'nina', read = false): Notification => ({
        id: `${String(at).padStart(15, '0')}-n${at}`,
        tenant: 'acme',
        userId,
        kind: 'review-decided',
        at,
        read,
        document: 'proposal/x',
        detail: { reviewId: `n${at}`, ruleId: 'rule', paths: [], outcome: 'rejected' },
      })
      await store.writeNotifications('acme', 'nina', { put: [notice(1), notice(3), notice(2)], drop: [] })
      await store.writeNotifications('acme', 'otto', { put: [notice(4, 'otto')], drop: [] })
      assert.deepEqual((await store.notifications('acme', 'nina')).map((n) => n.at), [3, 2, 1])
      await store.writeNotifications('acme', 'nina', { put: [notice(2, 'nina', true)], drop: [notice(1).id] })
      assert.deepEqual((await store.notifications('acme', 'nina')).map((n) => [n.at, n.read]), [[3, false], [2, true]])
      assert.deepEqual((await store.notifications('acme', 'otto')).map((n) => n.at), [4])
      assert.deepEqual(await store.notifications('other', 'nina'), [])
    })
  })
}

test('store contract: a damaged stored update fails the load with ERR_PERSISTENCE_FAILED on both stores', async () => {
  // Hostile bytes, generated here: a header claiming 2^31 structs and nothing after it.
  const damaged = new Uint8Array([0x01, 0x80, 0x80, 0x80, 0x80, 0x08])
  for (const backend of backends) {
    const { store, close } = await backend.open()
    try {
      await store.appendBatch('acme/proposal/damaged', edit(new Y.Doc(), 'sound', true))
      await store.appendBatch('acme/proposal/damaged', { update: damaged })
      await assert.rejects(store.loadStored('acme/proposal/damaged'), (error: unknown) => isCollabError(error) && error.code === 'ERR_PERSISTENCE_FAILED', backend.name)
    } finally {
      await close()
    }
  }
})
