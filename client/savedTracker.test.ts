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

/** A connection whose handshake (our sync step 2) is acknowledged. */
const connected = (tracker: SavedTracker, serverStateVector: Uint8Array = EMPTY_STATE_VECTOR): void => {
  tracker.messageSent('sync-step-2')
  tracker.ack(serverStateVector)
}

describe('SavedTracker', () => {
  test('a new tracker is saved and has no durable state vector', () => {
    const tracker = new SavedTracker()
    assert.equal(tracker.saved, true)
    assert.equal(tracker.durableStateVector, null)
  })

  test('an insert sent at once is saved only when its message is acked with a state vector covering it', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    connected(tracker)
    const update = updateOf(doc, () => doc.getMap('meta').set('title', 'A'))
    tracker.localUpdate(update, { sentNow: true })
    tracker.messageSent('update')
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc))
    assert.equal(tracker.saved, true)
    assert.equal(tracker.durableStateVector?.get(doc.clientID), 1)
  })

  test('an ack whose state vector does not cover the local structs does not save them', () => {
    const doc = new Y.Doc()
    const other = new Y.Doc()
    other.getMap('meta').set('title', 'from someone else')
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'A')), { sentNow: true })
    tracker.messageSent('update')
    // Acked, but the durable state names another client only (e.g. a server that lost the write).
    tracker.ack(stateVectorOf(other))
    assert.equal(tracker.saved, false)
  })

  test('a deletion, which no state vector shows, is saved when the message carrying it is acked', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    connected(tracker)
    const text = doc.getText('t')
    tracker.localUpdate(updateOf(doc, () => text.insert(0, 'abc')), { sentNow: true })
    tracker.messageSent('update')
    tracker.ack(stateVectorOf(doc))
    assert.equal(tracker.saved, true)

    const deletion = updateOf(doc, () => text.delete(1, 1))
    assert.equal(Y.parseUpdateMeta(deletion).to.size, 0, 'a deletion carries no structs')
    tracker.localUpdate(deletion, { sentNow: true })
    tracker.messageSent('update')
    assert.equal(tracker.saved, false, 'the state vector is unchanged, yet the deletion is not durable')
    tracker.ack(stateVectorOf(doc))
    assert.equal(tracker.saved, true)
  })

  test('messages are acked in order: with two in flight, one ack saves neither the second nor the whole', () => {
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'A')), { sentNow: true })
    tracker.messageSent('update')
    const afterFirst = stateVectorOf(doc)
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').delete('title')), { sentNow: true })
    tracker.messageSent('update')
    tracker.ack(afterFirst)
    assert.equal(tracker.saved, false)
    tracker.ack(afterFirst)
    assert.equal(tracker.saved, true)
  })

  test('a change handed to the socket before its message is reported is unsaved until that message is acked', () => {
    // The handle's update handler may run before the provider sends: the message comes right after.
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'A')), { sentNow: true })
    assert.equal(tracker.saved, false, 'its struct is not covered')
    tracker.messageSent('update')
    tracker.ack(stateVectorOf(doc))
    assert.equal(tracker.saved, true)
  })

  test('offline changes wait for the next sync step 2, even when their structs are already durable', () => {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    const tracker = new SavedTracker()
    connected(tracker)
    tracker.localUpdate(updateOf(doc, () => text.insert(0, 'abc')), { sentNow: true })
    tracker.messageSent('update')
    tracker.ack(stateVectorOf(doc))
    tracker.disconnected()
    assert.equal(tracker.saved, true, 'nothing was in flight')

    // Offline: delete a letter. The structs of "abc" are durable, the deletion is not.
    tracker.localUpdate(updateOf(doc, () => text.delete(0, 1)), { sentNow: false })
    assert.equal(tracker.saved, false)
    // Reconnected: an update message goes out before our sync step 2, and is acked.
    tracker.localUpdate(updateOf(doc, () => doc.getMap('meta').set('title', 'B')), { sentNow: true })
    tracker.messageSent('update')
    tracker.ack(stateVectorOf(doc))
    assert.equal(tracker.saved, false, 'the deletion travels in the sync step 2, not yet sent')
    tracker.messageSent('sync-step-2')
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc))
    assert.equal(tracker.saved, true)
  })

  test('state loaded from the local store counts as local until the server acknowledges it', () => {
    const previousSession = new Y.Doc()
    previousSession.getMap('meta').set('title', 'written offline')
    const loaded = Y.encodeStateAsUpdate(previousSession)
    const doc = new Y.Doc()
    const tracker = new SavedTracker()
    tracker.localUpdate(updateOf(doc, () => Y.applyUpdate(doc, loaded, 'local store')), { sentNow: false })
    assert.equal(tracker.saved, false)
    tracker.messageSent('sync-step-2')
    tracker.ack(EMPTY_STATE_VECTOR) // a server that does not have it yet… cannot ack it
    assert.equal(tracker.saved, false)
    tracker.disconnected()
    tracker.messageSent('sync-step-2')
    tracker.ack(stateVectorOf(doc))
    assert.equal(tracker.saved, true)
  })

  test('a connection lost with a message in flight sends its changes again in the next sync step 2', () => {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    const tracker = new SavedTracker()
    tracker.localUpdate(updateOf(doc, () => text.insert(0, 'abc')), { sentNow: false })
    connected(tracker, stateVectorOf(doc))
    assert.equal(tracker.saved, true)
    tracker.localUpdate(updateOf(doc, () => text.delete(0, 2)), { sentNow: true })
    tracker.messageSent('update')
    tracker.disconnected()
    assert.equal(tracker.saved, false)
    // New connection: acks count from zero again.
    tracker.messageSent('sync-step-2')
    assert.equal(tracker.saved, false)
    tracker.ack(stateVectorOf(doc))
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
