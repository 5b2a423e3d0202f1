import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as Y from 'yjs'
import { isCollabError } from '../../../shared/errors.ts'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import { tempDir } from '../../../shared/testing/tempDir.ts'
import type { ConflictRecord as Conflict } from '../../../shared/conflictRecord.ts'
import type { OwnerClaim } from '../../gate/clientOwnership.ts'
import { DocumentStore } from '../documentStore.ts'
import type { EventBase, EventRecord } from '../eventLog.ts'
import { PostgresDocumentStore, type DocumentBatch } from './postgresDocumentStore.ts'

/**
 * One contract, both stores: what the server relies on from the LevelDB store, the PostgreSQL
 * store must do the same (epochs aside: here every write is the one owner's, epoch 1).
 */
interface ContractStore {
  append(document: string, batch: DocumentBatch): Promise<void>
  loadStored(document: string): Promise<{ updates: Uint8Array[]; stateVector: Uint8Array | null }>
  compact(document: string): Promise<number | null>
  readEvents(document: string, options?: { fromSeq?: number; toSeq?: number; limit?: number; reverse?: boolean }): Promise<EventRecord[]>
  lastEventSeq(document: string): Promise<number>
  pruneEvents(document: string, cutoff: number): Promise<number>
  eventBase(document: string): Promise<EventBase | null>
  clientOwners(document: string): Promise<OwnerClaim[]>
  listConflicts(document: string): Promise<Conflict[]>
}

const backends: Array<{ name: string; open(): Promise<{ store: ContractStore; close(): Promise<void> }> }> = [
  {
    name: 'LevelDB',
    async open() {
      const dir = await tempDir('posalpro-contract-')
      const store = await DocumentStore.open(dir.path)
      return {
        store: {
          append: (document, batch) => store.appendBatch(document, batch),
          loadStored: async (document) => plain(await store.loadStored(document)),
          compact: (document) => store.compact(document),
          readEvents: (document, options) => store.readEvents(document, options),
          lastEventSeq: (document) => store.lastEventSeq(document),
          pruneEvents: (document, cutoff) => store.pruneEvents(document, cutoff),
          eventBase: (document) => store.eventBase(document),
          clientOwners: (document) => store.clientOwners(document),
          listConflicts: (document) => store.listConflicts(document),
        },
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
      const store = await PostgresDocumentStore.open(postgres.url)
      return {
        store: {
          append: (document, batch) => store.appendBatch(document, 1, batch),
          loadStored: async (document) => plain(await store.loadStored(document)),
          compact: (document) => store.compact(document, 1),
          readEvents: (document, options) => store.readEvents(document, options),
          lastEventSeq: (document) => store.lastEventSeq(document),
          pruneEvents: (document, cutoff) => store.pruneEvents(document, 1, cutoff),
          eventBase: (document) => store.eventBase(document),
          clientOwners: (document) => store.clientOwners(document),
          listConflicts: (document) => store.listConflicts(document),
        },
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
  device: null,
  outcome: 'accepted',
  applied: true,
  ruleIds: [],
  paths: ['meta.title'],
  update,
})

const contentOf = (updates: readonly Uint8Array[]): unknown => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getMap('meta').toJSON()
}

for (const backend of backends) {
  describe(`store contract: ${backend.name}`, () => {
    let store: ContractStore
    let close: () => Promise<void>
    before(async () => {
      ;({ store, close } = await backend.open())
    })
    after(() => close())

    test('updates load in the order stored, with the state vector only while it is current', async () => {
      const doc = new Y.Doc()
      const first = edit(doc, 'a', 1)
      await store.append('acme/proposal/order', first)
      assert.deepEqual(await store.loadStored('acme/proposal/order'), { updates: [first.update], stateVector: first.stateVector })
      const second = edit(doc, 'b', 2)
      await store.append('acme/proposal/order', { update: second.update })
      assert.deepEqual(await store.loadStored('acme/proposal/order'), { updates: [first.update, second.update], stateVector: null })
      assert.deepEqual(await store.loadStored('acme/proposal/never'), { updates: [], stateVector: null })
    })

    test('compaction leaves one update with the same content and a current state vector; later writes come after it', async () => {
      const doc = new Y.Doc()
      for (let index = 0; index < 5; index++) await store.append('acme/proposal/compact', edit(doc, `k${index}`, index))
      assert.ok(((await store.compact('acme/proposal/compact')) ?? 0) > 0, '((await store.compact(\'acme/proposal/compact\')) ?? 0) > 0')
      const compacted = await store.loadStored('acme/proposal/compact')
      assert.equal(compacted.updates.length, 1)
      assert.deepEqual(contentOf(compacted.updates), doc.getMap('meta').toJSON())
      assert.deepEqual(compacted.stateVector, Y.encodeStateVector(doc))
      assert.equal(await store.compact('acme/proposal/compact'), null)
      await store.append('acme/proposal/compact', edit(doc, 'later', true))
      const after = await store.loadStored('acme/proposal/compact')
      assert.equal(after.updates.length, 2)
      assert.deepEqual(contentOf(after.updates), doc.getMap('meta').toJSON())
    })

    test('events: ranges, newest first, retention of the expired prefix, numbering after the base', async () => {
      const doc = new Y.Doc()
      const times = [1_000, 500, 3_000, 4_000, 5_000]
      for (let seq = 1; seq <= 5; seq++) {
        const { update } = edit(doc, `e${seq}`, seq)
        await store.append('acme/proposal/events', { update, events: [event(seq, update, times[seq - 1]!)] })
      }
      assert.deepEqual((await store.readEvents('acme/proposal/events', { fromSeq: 2, toSeq: 4 })).map((e) => e.seq), [2, 3, 4])
      assert.deepEqual((await store.readEvents('acme/proposal/events', { limit: 2, reverse: true })).map((e) => e.seq), [5, 4])
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

    test('client owners and conflicts come back as stored, in key order', async () => {
      const doc = new Y.Doc()
      const owners = [{ client: 2 ** 32 + 5, userId: 'bob' }, { client: 7, userId: null }, { client: 300, userId: 'alice' }]
      const conflicts: Conflict[] = [
        { id: '2-0', path: 'meta.title', eventSeq: 2, at: 1, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'a', value: 'A' }, loser: { userId: 'b', value: 'B' } },
        { id: '1-0', path: 'meta.status', eventSeq: 1, at: 2, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'a', value: 1 }, loser: { userId: 'b', value: 2 } },
      ]
      await store.append('acme/proposal/owners', { ...edit(doc, 'x', 1), owners, conflicts: [conflicts[1]!] })
      await store.append('acme/proposal/owners', { update: null, conflicts: [conflicts[0]!] })
      assert.deepEqual(await store.clientOwners('acme/proposal/owners'), [...owners].sort((a, b) => a.client - b.client))
      assert.deepEqual(await store.listConflicts('acme/proposal/owners'), [conflicts[1], conflicts[0]])
    })
  })
}

test('store contract: a damaged stored update fails the load with ERR_PERSISTENCE_FAILED on both stores', async () => {
  // Hostile bytes, generated here: a header claiming 2^31 structs and nothing after it.
  const damaged = new Uint8Array([0x01, 0x80, 0x80, 0x80, 0x80, 0x08])
  for (const backend of backends) {
    const { store, close } = await backend.open()
    try {
      await store.append('acme/proposal/damaged', edit(new Y.Doc(), 'sound', true))
      await store.append('acme/proposal/damaged', { update: damaged })
      await assert.rejects(store.loadStored('acme/proposal/damaged'), (error: unknown) => isCollabError(error) && error.code === 'ERR_PERSISTENCE_FAILED', backend.name)
    } finally {
      await close()
    }
  }
})
