import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { SendGate, encodeAcknowledgedMessage, readAcknowledgedMessage, type AcknowledgedMessage } from './sendGate.ts'

const updateOf = (doc: Y.Doc, edit: () => void): Uint8Array => {
  const before = Y.encodeStateVector(doc)
  edit()
  return Y.encodeStateAsUpdate(doc, before)
}

const frame = (kind: AcknowledgedMessage['kind'], update: Uint8Array) => encodeAcknowledgedMessage({ kind, update })

const syncStep1 = (): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint8Array(encoder, Y.encodeStateVector(new Y.Doc()))
  return encoding.toUint8Array(encoder)
}

describe('SendGate', () => {
  test('reads sync step 2 and update frames, and nothing else', () => {
    const update = updateOf(new Y.Doc(), () => {})
    assert.deepEqual(readAcknowledgedMessage(frame('update', update)), { kind: 'update', update })
    assert.deepEqual(readAcknowledgedMessage(frame('sync-step-2', update)), { kind: 'sync-step-2', update })
    assert.equal(readAcknowledgedMessage(syncStep1()), null)
    assert.equal(readAcknowledgedMessage(new Uint8Array([1, 0])), null, 'awareness')
    assert.equal(readAcknowledgedMessage(new Uint8Array([0, 2, 50])), null, 'truncated')
    assert.equal(readAcknowledgedMessage('text'), null)
  })

  test('keeps one acknowledged message in flight and releases the held ones merged, on the ack', () => {
    const sent: AcknowledgedMessage[] = []
    const gate = new SendGate((message) => sent.push(message))
    const doc = new Y.Doc()
    const text = doc.getText('t')
    assert.equal(gate.outgoing(syncStep1()), true, 'sync step 1 is never held')
    assert.equal(gate.outgoing(frame('sync-step-2', updateOf(doc, () => {}))), true)
    assert.equal(gate.outgoing(frame('update', updateOf(doc, () => text.insert(0, 'ab')))), false)
    assert.equal(gate.outgoing(frame('update', updateOf(doc, () => text.delete(0, 1)))), false)
    assert.equal(gate.outgoing(new Uint8Array([1, 0])), true, 'awareness is never held')
    assert.deepEqual(
      sent.map((message) => message.kind),
      ['sync-step-2'],
    )

    const released = gate.acknowledged()
    assert.ok(released)
    assert.equal(sent.length, 2, 'the release is reported before acknowledged() returns')
    const message = readAcknowledgedMessage(released)
    assert.equal(message?.kind, 'update')
    const replica = new Y.Doc()
    Y.applyUpdate(replica, message!.update)
    assert.equal(replica.getText('t').toString(), 'b', 'the merged release carries the insert and the deletion')

    assert.equal(gate.acknowledged(), null, 'nothing held: the gate opens')
    assert.equal(gate.outgoing(frame('update', updateOf(doc, () => text.insert(0, 'c')))), true)
  })

  test('a held sync step 2 makes the released message a sync step 2; reset drops what was held', () => {
    const sent: AcknowledgedMessage[] = []
    const gate = new SendGate((message) => sent.push(message))
    const doc = new Y.Doc()
    gate.outgoing(frame('update', updateOf(doc, () => doc.getMap('m').set('a', 1))))
    gate.outgoing(frame('sync-step-2', updateOf(doc, () => doc.getMap('m').set('b', 2))))
    assert.equal(readAcknowledgedMessage(gate.acknowledged())?.kind, 'sync-step-2')
    gate.outgoing(frame('update', updateOf(doc, () => doc.getMap('m').set('c', 3))))
    gate.reset()
    assert.equal(gate.outgoing(frame('update', updateOf(doc, () => doc.getMap('m').set('d', 4)))), true, 'a new socket starts open')
  })
})
