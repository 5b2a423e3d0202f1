import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import pg from 'pg'
import * as Y from 'yjs'
import { isCollabError } from '../../../shared/errors.ts'
import { startPostgres, type PostgresInstance } from '../../../shared/testing/postgresInstance.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import { decisionNotification } from '../../reviews/reviewStorage.ts'
import { PostgresDocumentStore, type DocumentBatch } from './postgresDocumentStore.ts'
import { editor, event } from '../../testing/storeBatches.ts'

/**
 * A document's write as one statement (batchStatement.ts): every part a batch can hold, at once and
 * in bulk, plain and sealed; a refused write with every part present stores nothing; an update's
 * clock taken by another process is read again.
 */

let postgres: PostgresInstance
before(async () => {
  postgres = await startPostgres()
})
after(() => postgres.stop())

const MODES = [
  ['plain', () => ({})],
  ['encrypted', () => ({ atRest: { masterKey: randomBytes(32) } })],
] as const

/** A fresh database and a store on it (a second store on the same database is another process). */
const storeIn = async (name: string, options: object) => {
  const url = await postgres.createDatabase(name)
  return { url, store: await PostgresDocumentStore.open(url, options) }
}

const review = (id: string, eventSeq: number, extra: Partial<ReviewItem> = {}): ReviewItem => ({
  id,
  tenant: 'acme',
  document: 'proposal/every-part',
  ruleId: 'discount-review',
  proposer: { userId: 'alice', role: 'editor', device: 'laptop' },
  proposedAt: 1_790_000_000_000,
  changes: [{ path: 'meta.discount', root: 'meta', key: 'discount', baseValue: 0, proposedValue: 40 }],
  status: 'pending',
  eventSeq,
  ...extra,
})

/** Every trace a document's writes leave, read through the store. */
const everything = async (store: PostgresDocumentStore, document: string) => ({
  stored: await store.loadStored(document),
  events: await store.readEvents(document),
  owners: await store.clientOwners(document),
  conflicts: await store.listConflicts(document),
  reviews: (await store.listReviews('acme')).filter((item) => `acme/${item.document}` === document),
  notifications: await store.notifications('acme', 'alice'),
  names: await store.documentNames('acme'),
  epoch: await store.highestEpoch(document),
})

const rows = async (url: string, text: string, values: unknown[] = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text, values)).rows
  } finally {
    await client.end()
  }
}

for (const [mode, options] of MODES) {
  test(`${mode}: a batch with every part at once is stored whole, a review put twice in it as two puts in turn would leave it`, async () => {
    const { url, store } = await storeIn(`every_part_${mode}`, options())
    try {
      const document = 'acme/proposal/every-part'
      const writer = editor()
      const first = writer.edit('title', 'Tender')
      const second = writer.edit('discount', 40)
      const proposed = review('r-1', 2)
      const decided = review('r-2', 1, { status: 'approved', decidedBy: 'boss', decidedAt: 1_790_000_000_500 } as Partial<ReviewItem>)
      const batch: DocumentBatch = {
        update: Y.mergeUpdates([first.update, second.update]),
        stateVector: second.stateVector,
        events: [
          event(1, first.update, { ruleIds: ['z-rule', 'a-rule', 'm-rule'], paths: ['meta.title', 'meta.a"quoted\\path', 'meta.{braces},comma'], userName: 'Alice Ä' }),
          event(2, second.update, { outcome: 'review', reviewId: 'r-1', device: null, ruleIds: ['discount-review'] }),
          event(3, second.update, { outcome: 'compensation', userId: 'server', applied: false, refused: { bytes: 70_000, sha256: 'ab'.repeat(32) } }),
        ],
        // r-2 twice: proposed, then decided in the same batch.
        reviews: [proposed, { ...decided, status: 'pending', eventSeq: 1 }, decided],
        conflicts: [
          { id: '1-0', path: 'meta.title', eventSeq: 1, at: 5, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'bob', value: 'B' }, loser: { userId: 'alice', value: 'A' } },
          { id: '1-1', path: 'meta.discount', eventSeq: 1, at: 6, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'bob', value: 1 }, loser: { userId: 'carol', value: 2 } },
        ],
        owners: [{ client: writer.doc.clientID, userId: 'alice' }, { client: 7, userId: null }, { client: 2 ** 32 - 1, userId: 'bob' }],
      }
      await store.appendBatch(document, 1, batch)

      const stored = await everything(store, document)
      assert.deepEqual(stored.stored, { updates: [batch.update], stateVector: second.stateVector })
      assert.deepEqual(stored.events, batch.events)
      assert.deepEqual(
        stored.reviews.sort((a, b) => a.id.localeCompare(b.id)),
        [proposed, decided],
      )
      assert.deepEqual(await store.pendingReviews(document), [proposed], 'the decided one is no longer pending')
      assert.deepEqual(stored.notifications, [decisionNotification(decided)])
      assert.deepEqual(stored.conflicts, batch.conflicts)
      assert.deepEqual(stored.owners, [...batch.owners!].sort((a, b) => a.client - b.client))
      assert.deepEqual(stored.names, [document])
      assert.equal(stored.epoch, 1)
      // The next write of this process stores at the next clock (the document is listed already).
      const third = writer.edit('title', 'Tender 2')
      await store.appendBatch(document, 1, { ...third, events: [event(4, third.update)] })
      assert.deepEqual(await store.loadStored(document), { updates: [batch.update, third.update], stateVector: third.stateVector })

      if (mode === 'encrypted') {
        const [owner] = await rows(url, 'SELECT user_id FROM client_owners WHERE document = $1 AND client = $2', [document, 7])
        assert.notEqual(owner.user_id, null, 'an owner is sealed, even a null one')
        const events = await rows(url, 'SELECT user_id, rule_ids, paths, review_id, user_name FROM events WHERE document = $1', [document])
        assert.ok(events.every((row) => row.user_id === '' && row.rule_ids.length === 0 && row.paths.length === 0 && row.review_id === null && row.user_name === null), 'a sealed event keeps nothing readable but seq, time and outcome')
        const [item] = await rows(url, "SELECT item FROM reviews WHERE id = 'r-2'")
        assert.equal(typeof item.item.sealed, 'string', 'a review item is sealed')
      }
    } finally {
      await store.close()
    }
  })

  test(`${mode}: a stale epoch with every part present is refused (ERR_STALE_EPOCH, the fence named) and stores nothing, the fence untouched`, async () => {
    const { url, store } = await storeIn(`stale_every_part_${mode}`, options())
    try {
      const document = 'acme/proposal/every-part'
      const owner = editor()
      const first = owner.edit('title', 'by the owner')
      await store.appendBatch(document, 5, { ...first, events: [event(1, first.update)], owners: [{ client: owner.doc.clientID, userId: 'alice' }] })
      const before = await everything(store, document)
      const [fenceBefore] = await rows(url, 'SELECT epoch, since FROM document_epochs WHERE document = $1', [document])

      const stale = editor()
      const write = stale.edit('title', 'by the old owner')
      const refused = (error: unknown) => {
        assert.ok(isCollabError(error) && error.code === 'ERR_STALE_EPOCH', `ERR_STALE_EPOCH, got ${String(error)}`)
        assert.match(error.message, /epoch 4 is stale, epoch 5 has written it/)
        return true
      }
      await assert.rejects(
        store.appendBatch(document, 4, {
          ...write,
          events: [event(2, write.update, { outcome: 'review', reviewId: 'r-stale' })],
          reviews: [review('r-stale', 2), review('r-decided', 1, { status: 'rejected', decidedBy: 'boss', decidedAt: 1 } as Partial<ReviewItem>)],
          conflicts: [{ id: '2-0', path: 'meta.title', eventSeq: 2, at: 1, rule: 'last-writer-wins', dismissed: null, winner: { userId: 'x', value: 1 }, loser: { userId: 'y', value: 2 } }],
          owners: [{ client: stale.doc.clientID, userId: 'old-owner' }],
        }),
        refused,
      )
      // A new document's first write, stale against a claim: not even its `documents` row.
      await store.claim('acme/proposal/claimed', 9)
      await assert.rejects(store.appendBatch('acme/proposal/claimed', 8, { ...stale.edit('x', 1), events: [event(1, write.update)] }), (error: unknown) => isCollabError(error) && error.code === 'ERR_STALE_EPOCH')
      await assert.rejects(store.importDocument(document, 3, { update: write.update, eventBase: { seq: 1, update: write.update } }), (error: unknown) => isCollabError(error) && error.code === 'ERR_STALE_EPOCH')

      assert.deepEqual(await everything(store, document), before)
      assert.deepEqual(await store.documentNames('acme'), [document])
      assert.equal(await store.eventBase(document), null)
      assert.deepEqual(await rows(url, 'SELECT epoch, since FROM document_epochs WHERE document = $1', [document]), [fenceBefore])
      assert.deepEqual(await rows(url, 'SELECT count(*)::int AS n FROM document_updates WHERE document = $1', ['acme/proposal/claimed']), [{ n: 0 }])

      // The same epoch writes and leaves the fence's time as it was; a higher one moves both.
      const next = owner.edit('title', 'again')
      await store.appendBatch(document, 5, next)
      assert.deepEqual(await rows(url, 'SELECT epoch, since FROM document_epochs WHERE document = $1', [document]), [fenceBefore])
      await store.appendBatch(document, 6, owner.edit('title', 'new owner'))
      const [fenceAfter] = await rows(url, 'SELECT epoch, since FROM document_epochs WHERE document = $1', [document])
      assert.equal(fenceAfter.epoch, '6')
      assert.ok(fenceAfter.since > fenceBefore.since, 'a takeover records when')
    } finally {
      await store.close()
    }
  })

  test(`${mode}: a large batch (20,000 events of ragged rule lists, 5,000 owners, 2,000 conflicts) is one write, stored whole and in order`, async () => {
    const { store } = await storeIn(`large_${mode}`, options())
    try {
      const document = 'acme/proposal/large'
      const writer = editor()
      const { update, stateVector } = writer.edit('title', 'x')
      const events = Array.from({ length: 20_000 }, (_, index) =>
        event(index + 1, update, { ruleIds: Array.from({ length: index % 4 }, (_, rule) => `rule-${(index * 7 + rule) % 11}`), paths: index % 3 === 0 ? [] : [`meta.f${index}`, 'meta.title'] }),
      )
      const owners = Array.from({ length: 5_000 }, (_, index) => ({ client: index * 3 + 1, userId: index % 5 === 0 ? null : `user-${index}` }))
      const conflicts = Array.from({ length: 2_000 }, (_, index) => ({
        id: `${index + 1}-0`,
        path: 'meta.title',
        eventSeq: index + 1,
        at: index,
        rule: 'last-writer-wins' as const,
        dismissed: null,
        winner: { userId: 'bob', value: index },
        loser: { userId: 'alice', value: -index - 1 },
      }))
      await store.appendBatch(document, 1, { update, stateVector, events, owners, conflicts })
      assert.deepEqual(await store.readEvents(document), events, 'events')
      assert.deepEqual(await store.clientOwners(document), owners, 'owners')
      assert.deepEqual(await store.listConflicts(document), conflicts, 'conflicts')
    } finally {
      await store.close()
    }
  })

  test(`${mode}: an update's clock taken by another process (a write, a compaction) is read again: stored after it, its state vector current`, async () => {
    // Both processes with the same master key: the database opens only with it.
    const shared = options()
    const { url, store: mine } = await storeIn(`clock_${mode}`, shared)
    const other = await PostgresDocumentStore.open(url, shared)
    try {
      const document = 'acme/proposal/clock'
      const writer = editor()
      await mine.appendBatch(document, 1, writer.edit('a', 1))
      assert.equal((await mine.loadStored(document)).updates.length, 1)
      // Another process writes twice and compacts: clocks 1 and 2 are gone, 3 holds everything.
      await other.appendBatch(document, 1, writer.edit('b', 2))
      await other.appendBatch(document, 1, writer.edit('c', 3))
      assert.notEqual(await other.compact(document, 1), null, 'merged')
      // This process last saw clock 1 free; it must store at 4, after the merged update.
      const last = writer.edit('d', 4)
      await mine.appendBatch(document, 1, { ...last, events: [event(1, last.update)] })
      const stored = await mine.loadStored(document)
      assert.equal(stored.updates.length, 2)
      assert.deepEqual(stored.stateVector, last.stateVector, 'the state vector is stored with the last update')
      const doc = new Y.Doc()
      for (const update of stored.updates) Y.applyUpdate(doc, update)
      assert.deepEqual(doc.getMap('meta').toJSON(), { a: 1, b: 2, c: 3, d: 4 })
      assert.deepEqual((await rows(url, 'SELECT clock FROM document_updates WHERE document = $1 ORDER BY clock', [document])).map((row) => row.clock), ['3', '4'])
    } finally {
      await mine.close()
      await other.close()
    }
  })
}
