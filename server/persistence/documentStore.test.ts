import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { pino } from 'pino'
import { LeveldbPersistence } from 'y-leveldb'
import * as Y from 'yjs'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DocumentStore, WAL_DIRECTORY } from './documentStore.ts'
import { WriteAheadLog } from './writeAheadLog.ts'
import { encodeEvent, type EventRecord } from './eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'

/** An update that sets `meta.title` in a fresh replica with a fixed client id. */
const titleUpdate = (doc: Y.Doc, title: string): Uint8Array => {
  let update: Uint8Array | null = null
  const capture = (bytes: Uint8Array) => {
    update = bytes
  }
  doc.on('update', capture)
  doc.getMap('meta').set('title', title)
  doc.off('update', capture)
  return update!
}

const docOf = (updates: readonly Uint8Array[]): Y.Doc => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc
}

describe('document store', () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  const openStore = async (options?: Parameters<typeof DocumentStore.open>[1]) => {
    const dir = await tempDir('posalpro-store-')
    cleanups.push(() => dir.remove())
    const store = await DocumentStore.open(dir.path, options)
    return { dir: dir.path, store }
  }

  test('what the store writes and compacts, y-leveldb itself reads (same keys), and appends continue after compaction', async () => {
    const { dir, store } = await openStore()
    const writer = new Y.Doc()
    for (let i = 0; i < 5; i++) await store.appendBatch('t/proposal/a', { update: titleUpdate(writer, `v${i}`) })
    assert.equal((await store.loadUpdates('t/proposal/a')).length, 5)
    await store.compact('t/proposal/a')
    assert.equal((await store.loadUpdates('t/proposal/a')).length, 1)
    await store.appendBatch('t/proposal/a', { update: titleUpdate(writer, 'after compaction') })
    const stored = await store.loadUpdates('t/proposal/a')
    assert.equal(stored.length, 2)
    assert.equal(docOf(stored).getMap('meta').get('title'), 'after compaction')
    await store.close()

    const plain = new LeveldbPersistence(dir)
    try {
      assert.deepEqual(await plain.getAllDocNames(), ['t/proposal/a'])
      const doc = await plain.getYDoc('t/proposal/a')
      assert.equal(doc.getMap('meta').get('title'), 'after compaction')
      assert.deepEqual(Y.encodeStateVector(doc), Y.encodeStateVector(writer))
    } finally {
      await plain.destroy()
    }
  })

  test('a burst of logged writes to one document reaches LevelDB in a few batches, not one per write', async () => {
    const { store } = await openStore()
    const name = 't/proposal/burst'
    const writer = new Y.Doc()
    await store.appendBatch(name, { update: titleUpdate(writer, 'first') })
    // Count LevelDB's batch calls underneath the store (a spy, the real database still writes).
    const db = (store as unknown as { db: { batch(ops: unknown[]): Promise<void> } }).db
    const batch = db.batch.bind(db)
    let calls = 0
    db.batch = (ops) => {
      calls++
      return batch(ops)
    }
    for (let i = 0; i < 200; i++) await store.appendBatch(name, { update: titleUpdate(writer, `v${i}`) })
    const updates = await store.loadUpdates(name)
    assert.equal(updates.length, 201)
    assert.deepEqual(Y.encodeStateVector(docOf(updates)), Y.encodeStateVector(writer))
    // The writes are durable in the log at once; LevelDB takes what piled up at each batch.
    assert.ok(calls < 20, `${calls} LevelDB batches for 200 writes`)
    await store.close()
  })

  test('a review item is listed as soon as the write that holds it is durable (LevelDB may still be catching up)', async () => {
    const { store } = await openStore()
    const review = { id: 'r-1', tenant: 't', document: 'proposal/held', status: 'pending' } as unknown as ReviewItem
    await store.appendBatch('t/proposal/held', { update: titleUpdate(new Y.Doc(), 'held'), reviews: [review] })
    assert.deepEqual((await store.listReviews('t')).map((item) => item.id), ['r-1'])
    assert.equal((await store.getReview('t', 'r-1'))?.id, 'r-1')
    await store.close()
  })

  test('a compaction issued between two logged appends takes its clock in call order: nothing is overwritten', async () => {
    const { store } = await openStore()
    const name = 't/proposal/race'
    const writer = new Y.Doc()
    await store.appendBatch(name, { update: titleUpdate(writer, 'first') }) // the clock is known from here on
    const pending = [
      store.appendBatch(name, { update: titleUpdate(writer, 'second') }),
      store.compact(name),
      store.appendBatch(name, { update: titleUpdate(writer, 'third') }),
    ]
    await Promise.all(pending)
    const updates = await store.loadUpdates(name)
    assert.equal(updates.length, 2, 'the merged update and the one logged after the compaction')
    assert.deepEqual(Y.encodeStateVector(docOf(updates)), Y.encodeStateVector(writer))
    await store.close()
  })

  test('a write the log holds but LevelDB never got (the process died in between) is in the document after the next open', async () => {
    const { dir, store } = await openStore()
    const name = 't/proposal/crashed'
    const writer = new Y.Doc()
    await store.appendBatch(name, { update: titleUpdate(writer, 'in LevelDB') })
    await store.close()
    // What the dead process had logged: the next update at clock 1, in y-leveldb's key format.
    const { log } = WriteAheadLog.open(join(dir, WAL_DIRECTORY))
    log.append({ storageName: name, updateClock: 1, firstEventSeq: null, ops: [{ type: 'put', key: ['v1', name, 'update', 1], value: titleUpdate(writer, 'only in the log') }] })
    const reopened = await DocumentStore.open(dir)
    const doc = docOf(await reopened.loadUpdates(name))
    assert.equal(doc.getMap('meta').get('title'), 'only in the log')
    assert.deepEqual(Y.encodeStateVector(doc), Y.encodeStateVector(writer))
    await reopened.close()
    const again = await DocumentStore.open(dir)
    assert.equal((await again.loadUpdates(name)).length, 2, 'replayed once: the log was emptied')
    await again.close()
  })

  test('updates stored without a state-vector entry (a writer that did not keep one) are still read, and not overwritten', async () => {
    const { dir, store } = await openStore()
    await store.close()
    const name = 't/proposal/no-entry'
    const writer = new Y.Doc()
    // A bare update at clock 0, as a foreign writer might leave it: no v1_sv entry.
    const plain = new LeveldbPersistence(dir)
    await plain._transact((db) => (db as { put(key: unknown, value: Uint8Array): Promise<void> }).put(['v1', name, 'update', 0], titleUpdate(writer, 'foreign')))
    await plain.destroy()
    const reopened = await DocumentStore.open(dir)
    assert.equal(docOf(await reopened.loadUpdates(name)).getMap('meta').get('title'), 'foreign')
    await reopened.appendBatch(name, { update: titleUpdate(writer, 'ours') })
    const updates = await reopened.loadUpdates(name)
    assert.equal(updates.length, 2, 'appended after it, not over it')
    assert.deepEqual(Y.encodeStateVector(docOf(updates)), Y.encodeStateVector(writer))
    await reopened.close()
  })

  test('a write-ahead log that cannot be opened fails the open with ERR_PERSISTENCE_FAILED naming it, and releases LevelDB', async () => {
    const { dir, store } = await openStore()
    await store.close()
    // A file where the log's directory should be.
    rmSync(join(dir, WAL_DIRECTORY), { recursive: true, force: true })
    writeFileSync(join(dir, WAL_DIRECTORY), 'not a directory')
    await assert.rejects(DocumentStore.open(dir), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_PERSISTENCE_FAILED')
      assert.match(error.message, /write-ahead log/)
      return true
    })
    rmSync(join(dir, WAL_DIRECTORY))
    const reopened = await DocumentStore.open(dir) // the LevelDB lock was released
    await reopened.close()
  })

  test('a logged write without an update (a refused viewer write: events only) is replayed by its event sequence, once', async () => {
    const { dir, store } = await openStore()
    const name = 't/proposal/events-only'
    const event = (seq: number): EventRecord => ({
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
    await store.appendBatch(name, { update: null, events: [event(1)] })
    await store.close()
    // The dead process had logged event 2 (not in LevelDB) and event 1 again (its segment survived).
    const { log } = WriteAheadLog.open(join(dir, WAL_DIRECTORY))
    log.append({ storageName: name, updateClock: null, firstEventSeq: 1, ops: [{ type: 'put', key: ['posalpro_events', name, 1], value: encodeEvent({ ...event(1), userId: 'replayed' }) }] })
    log.append({ storageName: name, updateClock: null, firstEventSeq: 2, ops: [{ type: 'put', key: ['posalpro_events', name, 2], value: encodeEvent(event(2)) }] })
    const reopened = await DocumentStore.open(dir)
    const events = await reopened.readEvents(name)
    assert.deepEqual(events.map((entry) => [entry.seq, entry.userId]), [[1, 'vic'], [2, 'vic']], 'event 1 kept as LevelDB had it, event 2 replayed')
    await reopened.close()
  })

  test('a logged write LevelDB already holds is not written again (it may have been compacted away since)', async () => {
    const { dir, store } = await openStore()
    const name = 't/proposal/compacted'
    const writer = new Y.Doc()
    await store.appendBatch(name, { update: titleUpdate(writer, 'one') })
    const second = titleUpdate(writer, 'two')
    await store.appendBatch(name, { update: second })
    await store.compact(name)
    await store.close()
    // The segment holding clock 1 survived a crash after LevelDB had it and compacted it.
    const { log } = WriteAheadLog.open(join(dir, WAL_DIRECTORY))
    log.append({ storageName: name, updateClock: 1, firstEventSeq: null, ops: [{ type: 'put', key: ['v1', name, 'update', 1], value: second }] })
    const reopened = await DocumentStore.open(dir)
    assert.equal((await reopened.loadUpdates(name)).length, 1, 'only the compacted update')
    await reopened.close()
  })

  test('appends issued together keep their order per document, and documents do not mix', async () => {
    const { store } = await openStore()
    const writers = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
    const pending: Array<Promise<unknown>> = []
    for (let i = 0; i < 60; i++) {
      const d = i % writers.length
      pending.push(store.appendBatch(`t/proposal/d${d}`, { update: titleUpdate(writers[d]!, `d${d}-${i}`) }))
      if (i === 30) pending.push(store.compact('t/proposal/d1'))
    }
    await Promise.all(pending)
    for (const [d, writer] of writers.entries()) {
      const doc = docOf(await store.loadUpdates(`t/proposal/d${d}`))
      assert.deepEqual(Y.encodeStateVector(doc), Y.encodeStateVector(writer))
      assert.equal(doc.getMap('meta').get('title'), writer.getMap('meta').get('title'))
    }
    assert.deepEqual((await store.documentNames()).sort(), ['t/proposal/d0', 't/proposal/d1', 't/proposal/d2'])
    await store.close()
  })

  test('appends that bring the state vector keep y-leveldb\'s state vector entry current, so a load needs no decode; one without it leaves the entry stale, and the load says so', async () => {
    const { dir, store } = await openStore()
    const name = 't/proposal/sv'
    const writer = new Y.Doc()
    for (let i = 0; i < 3; i++) {
      await store.appendBatch(name, { update: titleUpdate(writer, `v${i}`), stateVector: Y.encodeStateVector(writer) })
    }
    let loaded = await store.loadStored(name)
    assert.equal(loaded.updates.length, 3)
    assert.deepEqual(loaded.stateVector, Y.encodeStateVector(writer))
    // A writer that does not know the document's state vector (an older server, another tool).
    await store.appendBatch(name, { update: titleUpdate(writer, 'without') })
    loaded = await store.loadStored(name)
    assert.equal(loaded.updates.length, 4)
    assert.equal(loaded.stateVector, null)
    // Compaction writes a current one again.
    await store.compact(name)
    loaded = await store.loadStored(name)
    assert.equal(loaded.updates.length, 1)
    assert.deepEqual(loaded.stateVector, Y.encodeStateVector(writer))
    await store.appendBatch(name, { update: titleUpdate(writer, 'after'), stateVector: Y.encodeStateVector(writer) })
    await store.close()

    // y-leveldb takes the entry as current too (it would otherwise rebuild and flush the document).
    const plain = new LeveldbPersistence(dir)
    try {
      assert.deepEqual(await plain.getStateVector(name), Y.encodeStateVector(writer))
    } finally {
      await plain.destroy()
    }
    const reopened = await DocumentStore.open(dir)
    try {
      assert.equal((await reopened.loadStored(name)).updates.length, 2, 'y-leveldb flushed the document: it took the entry as outdated')
    } finally {
      await reopened.close()
    }
  })

  test('a document can be compacted to a given state (its loaded doc once everything is durable): one stored update and its state vector, appends continue after it', async () => {
    const { store } = await openStore()
    const name = 't/proposal/to-state'
    const writer = new Y.Doc()
    for (let i = 0; i < 4; i++) await store.appendBatch(name, { update: titleUpdate(writer, `v${i}`), stateVector: Y.encodeStateVector(writer) })
    const doc = docOf(await store.loadUpdates(name))
    await store.compact(name, { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) })
    let loaded = await store.loadStored(name)
    assert.deepEqual(loaded.updates.map((update) => Uint8Array.from(update)), [Y.encodeStateAsUpdate(doc)])
    assert.deepEqual(loaded.stateVector, Y.encodeStateVector(writer))
    await store.appendBatch(name, { update: titleUpdate(writer, 'after'), stateVector: Y.encodeStateVector(writer) })
    loaded = await store.loadStored(name)
    assert.equal(loaded.updates.length, 2)
    assert.equal(docOf(loaded.updates).getMap('meta').get('title'), 'after')
    assert.deepEqual(loaded.stateVector, Y.encodeStateVector(writer))
    await store.close()
  })

  test('an operation slower than the threshold is logged as a warning with its name and duration', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
    // Threshold 0: every operation counts as slow, so the test needs no slow disk (and no clock).
    const { store } = await openStore({ logger, slowOperationMs: 0 })
    await store.appendBatch('t/proposal/slow', { update: titleUpdate(new Y.Doc(), 'x') })
    await store.close()
    const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string; operation?: string; ms?: number })
    const append = warnings.find((entry) => entry.operation === 'append t/proposal/slow')
    assert.ok(append, `no warning for the append in ${lines.join('')}`)
    assert.equal(append.level, 40)
    assert.equal(append.msg, 'slow store operation')
    assert.equal(typeof append.ms, 'number')
  })
})
