import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DocumentStore } from './documentStore.ts'
import type { EventRecord } from './eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'

/**
 * A room joining a document the store never wrote reads nothing (the store answers from its set of
 * known documents). What must never happen is the reverse: a document with records read as new —
 * its event numbering would start again and overwrite its history.
 */
const refusedEvent = (seq: number): EventRecord => ({
  seq,
  at: Date.now(),
  userId: 'vic',
  device: null,
  outcome: 'rejected',
  applied: false,
  ruleIds: ['read-only'],
  paths: [],
  update: new Uint8Array([0, 0]),
})

const pendingItem = (document: string): ReviewItem => ({
  id: `r-${document.replace('/', '-')}`,
  tenant: 't',
  document,
  ruleId: 'financial-review',
  proposer: { userId: 'ed', role: 'editor', device: null },
  proposedAt: Date.now(),
  changes: [],
  status: 'pending',
  eventSeq: 1,
})

const titleUpdate = (title: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getMap('meta').set('title', title)
  return Y.encodeStateAsUpdate(doc)
}

describe('known documents', () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })
  const dataDir = async () => {
    const dir = await tempDir('posalpro-known-')
    cleanups.push(() => dir.remove())
    return dir.path
  }

  /** Documents with one kind of record each, written through the store. */
  const writeEachKind = async (store: DocumentStore) => {
    await store.appendBatch('t/proposal/content', { update: titleUpdate('stored') })
    await store.appendBatch('t/proposal/refused-only', { update: null, events: [refusedEvent(1), refusedEvent(2)] })
    await store.appendBatch('t/proposal/held-only', { update: null, reviews: [pendingItem('proposal/held-only')] })
    await store.appendBatch('t/proposal/owners-only', { update: null, owners: [{ client: 42, userId: 'ed' }] })
  }

  /** What a room's cold load reads of each, after the store was opened again. */
  const assertEachKindReadBack = async (store: DocumentStore, when: string) => {
    assert.equal((await store.loadStored('t/proposal/content')).updates.length, 1, `${when}: the content of a document`)
    assert.equal(await store.lastEventSeq('t/proposal/refused-only'), 2, `${when}: the event log of a document whose every write was refused`)
    assert.equal((await store.pendingReviews('t', 'proposal/held-only')).length, 1, `${when}: a held change of a document without content`)
    assert.equal((await store.clientOwners('t/proposal/owners-only')).length, 1, `${when}: client-id owners of a document without content`)
    assert.equal((await store.loadStored('t/proposal/never')).updates.length, 0, `${when}: a document never written`)
    assert.equal(await store.lastEventSeq('t/proposal/never'), 0, `${when}: a document never written has no events`)
  }

  test('every kind of record makes its document known, across a restart', async () => {
    const dir = await dataDir()
    const store = await DocumentStore.open(dir)
    await writeEachKind(store)
    await assertEachKindReadBack(store, 'same process')
    // A review item stored on its own (not in a document batch) is found too.
    assert.equal((await store.pendingReviews('t', 'proposal/content')).length, 0)
    await store.putReview(pendingItem('proposal/content'))
    assert.equal((await store.pendingReviews('t', 'proposal/content')).length, 1, 'a pending item stored by putReview')
    await store.close()
    const reopened = await DocumentStore.open(dir)
    await assertEachKindReadBack(reopened, 'after a restart')
    // Numbering continues: the next event of the refused-only document does not overwrite #1.
    await reopened.appendBatch('t/proposal/refused-only', { update: null, events: [refusedEvent(3)] })
    assert.deepEqual((await reopened.readEvents('t/proposal/refused-only')).map((event) => event.seq), [1, 2, 3])
    await reopened.close()
  })

  test('a store written without the index (an earlier version) is indexed from its record keys at open', async () => {
    const dir = await dataDir()
    const store = await DocumentStore.open(dir)
    await writeEachKind(store)
    // What an earlier version left: the same records, no markers and no flag.
    const markers = await store.readRange('markers', { gt: ['posalpro_docs'], lt: ['posalpro_docs', 0xffffffff] })
    assert.equal(markers.length, 4, 'one marker per document written')
    await store.writeDirect('forget the index', [
      ...markers.map(([key]) => ({ type: 'del' as const, key })),
      { type: 'del' as const, key: ['posalpro_meta', 'documents-indexed', 1] },
    ])
    await store.close()
    const reopened = await DocumentStore.open(dir)
    await assertEachKindReadBack(reopened, 'after indexing')
    await reopened.close()
  })

  test('a document another writer stored after the index (y-leveldb, or a downgrade) is found at the next open', async () => {
    const dir = await dataDir()
    const store = await DocumentStore.open(dir)
    await store.appendBatch('t/proposal/ours', { update: titleUpdate('ours') })
    await store.close()
    const other = new LeveldbPersistence(dir)
    await other.storeUpdate('t/proposal/theirs', titleUpdate('theirs'))
    await other.destroy()
    const reopened = await DocumentStore.open(dir)
    const { updates } = await reopened.loadStored('t/proposal/theirs')
    assert.equal(updates.length, 1, 'the document written without a marker is read, not taken as new')
    await reopened.close()
  })
})
