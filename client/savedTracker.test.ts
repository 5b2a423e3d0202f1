import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { SavedTracker } from './savedTracker.ts'

/** Runs `edit` on `doc` and returns the update it produced. */
const updateOf = (doc: Y.Doc, edit: () => void): Uint8Array => {
  let captured: Uint8Array | null = null
  const capture = (update: Uint8Array) => {
    captured = captured ? Y.mergeUpdates([captured, update]) : update
  }
  doc.on('update', capture)
  edit()
  doc.off('update', capture)
  assert.ok(captured, 'the edit produced no update')
  return captured
}

const stateVectorOf = (doc: Y.Doc): Uint8Array => Y.encodeStateVector(doc)
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc())

/** A connection whose handshake (our sync step 2, message #1) is acknowledged. */
const connected = (tracker: SavedTracker, serverStateVector: Uint8Array = EMPTY_STATE_VECTOR): void => {
  tracker.syncStep2Sent(1)
  tracker.ack(serverStateVector, 1)
}

describe('SavedTracker', () => {
  test('a new tracker is saved and has no durable state vector', () => {
    const tracker = new SavedTracker()
    assert.equal(tracker.saved, true)
    assert.equal(tracker.durableStateVector, null)
  })

  test('an insert is saved only when the ack counts its message and its state vector covers it', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'A')), 2)
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc), 1)
    assert.equal(tracker.saved, false, 'the state vector covers it, but the count does not reach its message yet')
    tracker.ack(stateVectorOf(doc), 2)
    assert.equal(tracker.saved, true)
    assert.equal(tracker.durableStateVector?.get(doc.clientID), 1)
  })

  test('an ack whose state vector does not cover the local structs does not save them, whatever its count', () => {
    const doc = new Y.Doc()
    const other = new Y.Doc()
    other.getMap('meta').set('title', 'from someone else')
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'A')), 2)
    // Counted, but the durable state names another client only (e.g. a server that lost the write).
    tracker.ack(stateVectorOf(other), 2)
    assert.equal(tracker.saved, false)
  })

  test('a deletion, which no state vector shows, is saved only when the ack count reaches its message', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    connected(tracker)
    const text = doc.getText('t')
    tracker.localUpdate(updateOf(doc, () => text.insert(0, 'abc')), 2)
    tracker.ack(stateVectorOf(doc), 2)
    assert.equal(tracker.saved, true)

    const deletion = updateOf(doc, () => text.delete(1, 1))
    assert.equal(Y.parseUpdateMeta(deletion).to.size, 0, 'a deletion carries no structs')
    tracker.localUpdate(deletion, 3)
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc), 2)
    assert.equal(tracker.saved, false, 'the state vector already covers everything, yet message #3 is not durable')
    tracker.ack(stateVectorOf(doc), 3)
    assert.equal(tracker.saved, true)
  })

  test('counts are cumulative: with several messages in flight, one ack covers all up to its count', () => {
    const doc = new Y.Doc()
    const meta = doc.getMap('meta')
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => meta.set('title', 'A')), 2)
    const afterFirst = stateVectorOf(doc)
    tracker.localUpdate(updateOf(doc, () => meta.delete('title')), 3)
    tracker.localUpdate(updateOf(doc, () => meta.set('currency', 'EUR')), 4)
    tracker.ack(afterFirst, 2)
    assert.equal(tracker.saved, false, 'the deletion (#3) and the last insert (#4) are not durable')
    tracker.ack(stateVectorOf(doc), 4) // one durable batch held #3 and #4: no ack names #3 alone
    assert.equal(tracker.saved, true)
    tracker.ack(stateVectorOf(doc), 3) // a lower count never takes back what was counted
    assert.equal(tracker.saved, true)
  })

  test('a change no message carries yet (socket not open) waits for this connection’s sync step 2', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'A')), null)
    assert.equal(tracker.saved, false)
    tracker.syncStep2Sent(1)
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc), 1)
    assert.equal(tracker.saved, true)
  })

  test('offline changes wait for the next sync step 2, even when their structs are already durable', () => {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => text.insert(0, 'abc')), 2)
    tracker.ack(stateVectorOf(doc), 2)
    tracker.disconnected()
    assert.equal(tracker.saved, true, 'everything sent was acknowledged')

    // Offline: delete a letter. The structs of "abc" are durable, the deletion is not.
    tracker.localUpdate(updateOf(doc, () => text.delete(0, 1)), null)
    assert.equal(tracker.saved, false)
    // Reconnected: an update message (#1) goes out before our sync step 2, and is acked.
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'B')), 1)
    tracker.ack(stateVectorOf(doc), 1)
    assert.equal(tracker.saved, false, 'the deletion travels in the sync step 2, not yet sent')
    tracker.syncStep2Sent(2)
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc), 2)
    assert.equal(tracker.saved, true)
  })

  test('state loaded from the local store counts as local until the server acknowledges it', () => {
    const previousSession = new Y.Doc()
    previousSession.getMap('meta').set('title', 'written offline')
    const loaded = Y.encodeStateAsUpdate(previousSession)
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    tracker.localUpdate(updateOf(doc, () => Y.applyUpdate(doc, loaded, 'local store')), null)
    assert.equal(tracker.saved, false)
    tracker.syncStep2Sent(1)
    tracker.ack(EMPTY_STATE_VECTOR, 1) // a server that does not have it yet… cannot ack it
    assert.equal(tracker.saved, false)
    tracker.disconnected()
    tracker.syncStep2Sent(1)
    tracker.ack(stateVectorOf(doc), 1)
    assert.equal(tracker.saved, true)
  })

  test('across a reconnect: messages of the dropped connection are not acked; the next sync step 2 resends them', () => {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    const tracker = new SavedTracker()
    tracker.localUpdate(updateOf(doc, () => text.insert(0, 'abcdef')), null)
    connected(tracker, stateVectorOf(doc))
    assert.equal(tracker.saved, true)
    // Two deletions in flight (#2, #3); only #2 is acknowledged before the connection drops.
    tracker.localUpdate(updateOf(doc, () => text.delete(0, 1)), 2)
    tracker.localUpdate(updateOf(doc, () => text.delete(0, 1)), 3)
    tracker.ack(stateVectorOf(doc), 2)
    tracker.disconnected()
    assert.equal(tracker.saved, false)

    // New connection: numbers start again. An update message (#1) and its ack do not cover the
    // lost deletion, although 1 is a count the old connection had reached.
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'new')), 1)
    tracker.ack(stateVectorOf(doc), 1)
    assert.equal(tracker.saved, false)
    // Our sync step 2 (#2) carries the whole delete set; its ack saves everything.
    tracker.syncStep2Sent(2)
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc), 2)
    assert.equal(tracker.saved, true)
  })

  test('a connection dropped after everything was acked needs nothing resent: saved stays true on reconnect', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'A')), 2)
    tracker.ack(stateVectorOf(doc), 2)
    tracker.disconnected()
    assert.equal(tracker.saved, true)
    tracker.syncStep2Sent(1) // carries nothing the server lacks
    assert.equal(tracker.saved, true, 'no flicker while the handshake is acknowledged')
    tracker.ack(stateVectorOf(doc), 1)
    assert.equal(tracker.saved, true)
  })

  test('the durable state vector is the latest ack, across connections', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    doc.getMap('m').set('a', 1)
    connected(tracker, stateVectorOf(doc))
    assert.equal(tracker.durableStateVector?.get(doc.clientID), 1)
    tracker.disconnected()
    assert.equal(tracker.durableStateVector?.get(doc.clientID), 1, 'kept while offline')
    doc.getMap('m').set('b', 2)
    connected(tracker, stateVectorOf(doc))
    assert.equal(tracker.durableStateVector?.get(doc.clientID), 2)
  })
})
