import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import pg from 'pg'
import * as Y from 'yjs'
import { isCollabError } from '../../../shared/errors.ts'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import { PostgresDocumentStore, type DocumentBatch } from './postgresDocumentStore.ts'
import { editor, event } from '../../testing/storeBatches.ts'

let postgres: PostgresInstance
let store: PostgresDocumentStore
before(async () => {
  postgres = await startPostgres()
  store = await PostgresDocumentStore.open(postgres.url)
})
after(async () => {
  await store.close()
  await postgres.stop()
})

const review = (document: string, id: string, eventSeq: number): ReviewItem => ({
  id,
  tenant: 'acme',
  document: document.slice('acme/'.length),
  ruleId: 'discount-review',
  proposer: { userId: 'alice', role: 'editor', device: 'laptop' },
  proposedAt: 1_790_000_000_000,
  changes: [{ path: 'meta.discount', root: 'meta', key: 'discount', baseValue: 0, proposedValue: 40 }],
  status: 'pending',
  eventSeq,
})

const staleEpoch = (error: unknown) => isCollabError(error) && error.code === 'ERR_STALE_EPOCH'

const contentOf = (updates: readonly Uint8Array[]): unknown => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getMap('meta').toJSON()
}

/** Every trace a document's writes leave, to compare before and after a refused write. */
const everything = async (document: string) => ({
  updates: (await store.loadUpdates(document)).map((update) => Buffer.from(update).toString('base64')),
  events: await store.readEvents(document),
  owners: await store.clientOwners(document),
  conflicts: await store.listConflicts(document),
  reviews: (await store.listReviews('acme')).filter((item) => `acme/${item.document}` === document),
  epoch: await store.highestEpoch(document),
})

test('a batch commits everything together: update, state vector, events, review, conflict, owners', async () => {
  const document = 'acme/proposal/batch'
  const writer = editor()
  const { update, stateVector } = writer.edit('title', 'Tender')
  const compensation = writer.edit('discount', 0).update
  const batch: DocumentBatch = {
    update,
    stateVector,
    events: [event(1, update, { outcome: 'review', ruleIds: ['discount-review'], reviewId: 'r-1' }), event(2, compensation, { outcome: 'compensation', userId: 'server', device: null, refused: { bytes: 70_000, sha256: 'ab'.repeat(32) } })],
    reviews: [review(document, 'r-1', 1)],
    conflicts: [{ id: '1-0', path: 'meta.title', eventSeq: 1, at: 5, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'bob', value: 'B' }, loser: { userId: 'alice', value: 'A' } }],
    owners: [{ client: writer.doc.clientID, userId: 'alice' }, { client: 7, userId: null }],
  }
  await store.appendBatch(document, 1, batch)

  const stored = await everything(document)
  assert.deepEqual(stored.updates, [Buffer.from(update).toString('base64')])
  assert.deepEqual((await store.loadStored(document)).stateVector, stateVector)
  assert.deepEqual(stored.events, batch.events)
  assert.deepEqual(stored.reviews, batch.reviews)
  assert.deepEqual(stored.conflicts, batch.conflicts)
  assert.deepEqual(stored.owners, [...batch.owners!].sort((a, b) => a.client - b.client))
  assert.equal(stored.epoch, 1)
  assert.ok((await store.documentNames('acme')).includes(document), '(await store.documentNames(\'acme\')).includes(document)')
  assert.deepEqual(await store.readEvents(document, { limit: 1, reverse: true }), [batch.events![1]])
  assert.deepEqual(await store.getReview('acme', 'r-1'), batch.reviews![0])
  assert.deepEqual(await store.pendingReviews(document), batch.reviews)
  assert.deepEqual((await store.documentSummaries('acme')).filter((summary) => summary.document === document), [{ document, storedUpdates: 1, bytes: update.byteLength, lastChange: batch.events![1]!.at }])

  // A decision rides in a later batch: the item is replaced, no longer pending.
  await store.appendBatch(document, 1, { update: null, reviews: [{ ...batch.reviews![0]!, status: 'approved', decidedBy: 'boss' }] })
  assert.equal((await store.getReview('acme', 'r-1'))?.status, 'approved')
  assert.deepEqual(await store.pendingReviews(document), [])
})

test('a batch that fails part-way stores nothing of itself, and a failed takeover does not move the fence', async () => {
  const document = 'acme/proposal/atomic'
  const writer = editor()
  const first = writer.edit('title', 'one')
  await store.appendBatch(document, 1, { ...first, events: [event(1, first.update)] })
  const before = await everything(document)

  // Its update and review are written before its events, whose sequence number is already taken.
  const second = writer.edit('title', 'two')
  await assert.rejects(
    store.appendBatch(document, 2, { ...second, reviews: [review(document, 'r-atomic', 1)], events: [event(1, second.update)], owners: [{ client: 99, userId: 'mallory' }] }),
    (error: unknown) => isCollabError(error) && error.code === 'ERR_PERSISTENCE_FAILED',
  )
  assert.deepEqual(await everything(document), before)
  assert.deepEqual((await store.loadStored(document)).stateVector, first.stateVector)
})

test('a stale epoch is refused with ERR_STALE_EPOCH and leaves nothing', async () => {
  const document = 'acme/proposal/stale'
  const writer = editor()
  const first = writer.edit('title', 'by the new owner')
  await store.appendBatch(document, 5, { ...first, events: [event(1, first.update)] })
  const before = await everything(document)

  const stale = editor().edit('title', 'by the old owner')
  await assert.rejects(
    store.appendBatch(document, 4, {
      ...stale,
      events: [event(2, stale.update)],
      reviews: [review(document, 'r-stale', 2)],
      conflicts: [{ id: '2-0', path: 'meta.title', eventSeq: 2, at: 1, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'x', value: 1 }, loser: { userId: 'y', value: 2 } }],
      owners: [{ client: 12345, userId: 'old-owner' }],
    }),
    staleEpoch,
  )
  await assert.rejects(store.appendBatch(document, 4, { update: null, owners: [{ client: 1, userId: 'old-owner' }] }), staleEpoch)
  await assert.rejects(store.compact(document, 4), staleEpoch)
  assert.deepEqual(await everything(document), before)
})

test('after a takeover the old epoch can never write again, however the writes interleave', async () => {
  const document = 'acme/proposal/takeover'
  const oldOwner = editor()
  const newOwner = editor()
  await store.appendBatch(document, 1, { update: oldOwner.edit('title', 'old 0').update })
  // The old owner keeps writing (paused past its lease, it does not know) while the new one takes over.
  const attempts = Array.from({ length: 30 }, (_, index) => {
    const epoch = index % 2 === 0 ? 1 : 2
    const { update } = (epoch === 1 ? oldOwner : newOwner).edit(`k${index}`, index)
    return store.appendBatch(document, epoch, { update }).then(
      () => ({ epoch, ok: true }),
      (error: unknown) => {
        assert.ok(staleEpoch(error), `a refused write is ERR_STALE_EPOCH, got ${String(error)}`)
        return { epoch, ok: false }
      },
    )
  })
  const outcomes = await Promise.all(attempts)
  assert.ok(outcomes.every((outcome) => outcome.epoch === 2 ? outcome.ok : true), 'the new owner is never refused')
  const { rows } = await postgresRows(document)
  // In storage order, no write of epoch 1 follows one of epoch 2.
  const epochs = rows.map((row) => Number(row.epoch))
  assert.deepEqual(epochs, [...epochs].sort((a, b) => a - b))
  assert.equal(await store.highestEpoch(document), 2)
  await assert.rejects(store.appendBatch(document, 1, { update: oldOwner.edit('late', true).update }), staleEpoch)
  // A third owner fences out the second.
  await store.appendBatch(document, 3, { update: null, owners: [{ client: 3, userId: 'carol' }] })
  await assert.rejects(store.appendBatch(document, 2, { update: newOwner.edit('late', true).update }), staleEpoch)
})

test('a new owner claims the document before loading it: the old owner cannot write even before the new one has', async () => {
  const document = 'acme/proposal/claim'
  const oldOwner = editor()
  await store.appendBatch(document, 1, oldOwner.edit('title', 'before the handover'))
  await store.claim(document, 2)
  const loaded = await store.loadUpdates(document)
  await assert.rejects(store.appendBatch(document, 1, oldOwner.edit('title', 'behind the new owner\'s back')), staleEpoch)
  assert.deepEqual(await store.loadUpdates(document), loaded, 'what the new owner loaded is still everything')
  assert.equal(await store.highestEpoch(document), 2)
  await store.claim(document, 2) // claiming again is harmless
  await assert.rejects(store.claim(document, 1), staleEpoch)
})

test('a document exists from its first stored update: not when only claimed, nor with only a refused write recorded', async () => {
  const document = 'globex/customer/c1'
  await store.claim(document, 1)
  const { update } = editor().edit('name', 'Globex')
  await store.appendBatch(document, 1, { update: null, events: [event(1, update, { outcome: 'rejected', applied: false, ruleIds: ['read-only'] })] })
  assert.deepEqual(await store.documentNames('globex'), [])
  assert.deepEqual(await store.documentSummaries('globex'), [])
  await store.appendBatch(document, 1, { update, events: [event(2, update)] })
  assert.deepEqual(await store.documentNames('globex'), [document])
})

test('a first write that rolls back leaves the document unlisted, and the next write lists it', async () => {
  const document = 'globex/customer/c2'
  const writer = editor()
  const first = writer.edit('name', 'one')
  await store.appendBatch(document, 1, { ...first, events: [event(1, first.update)] })
  await store.appendBatch(document, 1, { ...writer.edit('name', 'two'), events: [] })
  // Another document's first write fails after its row was inserted (its event number is taken).
  const other = 'globex/customer/c3'
  const failing = editor().edit('name', 'three')
  await assert.rejects(
    store.appendBatch(other, 1, { ...failing, events: [event(1, failing.update), event(1, failing.update)] }),
    (error: unknown) => isCollabError(error) && error.code === 'ERR_PERSISTENCE_FAILED',
  )
  assert.deepEqual(await store.documentNames('globex'), ['globex/customer/c1', document], 'the rolled-back first write listed nothing')
  await store.appendBatch(other, 1, { ...failing, events: [event(1, failing.update)] })
  assert.deepEqual(await store.documentNames('globex'), ['globex/customer/c1', document, other], 'its next write lists it')
})

test('compaction merges the updates into one, fenced, and keeps the content; later writes load after it', async () => {
  const document = 'acme/proposal/compact'
  const writer = editor()
  for (let index = 0; index < 6; index++) await store.appendBatch(document, 1, writer.edit(`field${index}`, `value ${index}`))
  const content = writer.doc.getMap('meta').toJSON()
  assert.deepEqual(contentOf(await store.loadUpdates(document)), content)

  const merged = await store.compact(document, 1)
  assert.ok(merged !== null && merged > 0, 'merged !== null && merged > 0')
  const compacted = await store.loadUpdates(document)
  assert.equal(compacted.length, 1)
  assert.deepEqual(contentOf(compacted), content)
  assert.deepEqual((await store.loadStored(document)).stateVector, Y.encodeStateVector(writer.doc))
  assert.equal(await store.compact(document, 1), null, 'nothing left to merge')

  await store.appendBatch(document, 2, writer.edit('after', 'compaction'))
  assert.deepEqual(contentOf(await store.loadUpdates(document)), writer.doc.getMap('meta').toJSON())
  await assert.rejects(store.compact(document, 1), staleEpoch)
})

test('a cold load reads the updates with a current state vector, and fails with ERR_PERSISTENCE_FAILED on a damaged update', async () => {
  const document = 'acme/proposal/load'
  const writer = editor()
  const first = writer.edit('title', 'one')
  await store.appendBatch(document, 1, first)
  assert.deepEqual(await store.loadStored(document), { updates: [first.update], stateVector: first.stateVector })
  // Stored without its state vector (as y-leveldb's own appends do): the stored one is stale, so none.
  const second = writer.edit('title', 'two')
  await store.appendBatch(document, 1, { update: second.update })
  assert.deepEqual(await store.loadStored(document), { updates: [first.update, second.update], stateVector: null })

  // Bytes damaged on disk: a header claiming 2^31 structs, then nothing.
  await sql('INSERT INTO document_updates (document, clock, "update", epoch) VALUES ($1, 99, $2, 1)', [document, Buffer.from([0x01, 0x80, 0x80, 0x80, 0x80, 0x08])])
  await assert.rejects(store.loadStored(document), (error: unknown) => isCollabError(error) && error.code === 'ERR_PERSISTENCE_FAILED')
})

test('a batch of more events than one statement can carry is stored whole', async () => {
  const document = 'acme/proposal/many-events'
  const writer = editor()
  const { update } = writer.edit('title', 'x')
  const events = Array.from({ length: 6_000 }, (_, index) => event(index + 1, update))
  await store.appendBatch(document, 1, { update, events })
  assert.equal((await store.readEvents(document)).length, 6_000)
  assert.deepEqual(await store.readEvents(document, { fromSeq: 5_999, limit: 5 }), events.slice(5_998))
})

test('retention folds expired events into the base, fenced: the log still rebuilds the document and numbering continues', async () => {
  const document = 'acme/proposal/retention'
  const writer = editor()
  // Event 2's clock stepped back: it expires only with the events around it.
  const times = [1_000, 500, 3_000, 4_000, 5_000]
  for (let seq = 1; seq <= 5; seq++) {
    const { update } = writer.edit(`f${seq}`, seq)
    await store.appendBatch(document, 1, { update, events: [event(seq, update, { at: times[seq - 1]! })] })
  }
  assert.equal(await store.pruneEvents(document, 1, 900), 0, 'event 1 is retained, so event 2 is too')
  await assert.rejects(store.pruneEvents(document, 0, 3_500), staleEpoch)
  assert.equal(await store.pruneEvents(document, 1, 3_500), 3)
  assert.deepEqual((await store.readEvents(document)).map((record) => record.seq), [4, 5])
  const base = await store.eventBase(document)
  assert.equal(base?.seq, 3)
  const rebuilt = new Y.Doc()
  Y.applyUpdate(rebuilt, base!.update)
  for (const record of await store.readEvents(document)) Y.applyUpdate(rebuilt, record.update)
  assert.deepEqual(rebuilt.getMap('meta').toJSON(), writer.doc.getMap('meta').toJSON())
  assert.equal(await store.pruneEvents(document, 1, 10_000), 2)
  assert.equal(await store.lastEventSeq(document), 5, 'numbering continues after the base')
  assert.equal((await store.eventBase(document))?.seq, 5)
  assert.equal(await store.lastEventSeq('acme/proposal/none'), 0)
})

/** One statement on the test database, outside the store. */
const sql = async (text: string, values: unknown[] = []) => {
  const client = new pg.Client({ connectionString: postgres.url })
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

/** The stored updates' epochs in clock order, read straight from the table. */
const postgresRows = (document: string) => sql('SELECT epoch FROM document_updates WHERE document = $1 ORDER BY clock', [document])
